import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './compose.js';

/** The TypeScript sources under a folder of the repository (build output left out), as absolute paths. */
export function sourceFiles(folder: string): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'dist' || entry.name === 'generated' || entry.name === 'node_modules' ? [] : walk(full);
      return /\.tsx?$/.test(entry.name) ? [full] : [];
    });
  return walk(path.join(REPO_ROOT, folder));
}

/** Every module specifier a file imports or re-exports, statically or dynamically. */
export function specifiersOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/\bfrom\s+'([^']+)'|\bimport\s*\(\s*'([^']+)'\s*\)|^import\s+'([^']+)'/gm)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/** The top-level folder of the repository a relative import of `file` lands in (`src`, `test`, …). */
export function topLevelFolderOf(file: string, specifier: string): string {
  return path.relative(REPO_ROOT, path.resolve(path.dirname(file), specifier)).split(path.sep)[0]!;
}

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/compose.js';

// The simulator plays PixelByte: were it to share the relay's code (signing, models, schemas), a mistake there would
// be made the same way on both sides and no test would see it. It also runs in the image, which has no dev dependencies.

const SIMULATOR_DIR = path.join(REPO_ROOT, 'simulator');
const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'dist' ? [] : sources(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every module specifier a file imports or re-exports, statically or dynamically. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/\bfrom\s+'([^']+)'|\bimport\s*\(\s*'([^']+)'\s*\)|^import\s+'([^']+)'/gm)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

describe('the simulator', () => {
  const files = sources(SIMULATOR_DIR);

  it('imports nothing of the relay: its relative imports stay inside simulator/', () => {
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      for (const spec of specifiers(file).filter((s) => s.startsWith('.'))) {
        const target = path.resolve(path.dirname(file), spec);
        expect(target.startsWith(`${SIMULATOR_DIR}${path.sep}`), `${path.relative(REPO_ROOT, file)} imports ${spec}`).toBe(true);
      }
    }
  });

  it('uses only Node built-ins and production dependencies, which the image installs', () => {
    for (const file of files) {
      for (const spec of specifiers(file).filter((s) => !s.startsWith('.'))) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        expect(spec.startsWith('node:') || name in pkg.dependencies, `${path.relative(REPO_ROOT, file)} imports ${spec}`).toBe(true);
      }
    }
  });
});

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILT = join(ROOT, 'dist/console/index.html');

function newestIn(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestIn(join(path, name))));
}

/**
 * Builds the console (`npm run build:console`) when dist/console is missing or older than console/: the relay
 * serves what is there, so a fresh clone or an edit to the console would otherwise show nothing or an old build.
 * Returns whether it built.
 */
export function buildConsoleIfStale(): boolean {
  if (existsSync(BUILT) && statSync(BUILT).mtimeMs >= newestIn(join(ROOT, 'console'))) return false;
  execFileSync('npm', ['run', '-s', 'build:console'], { cwd: ROOT, stdio: 'inherit' });
  return true;
}

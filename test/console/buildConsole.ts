import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Vitest global setup: the relay serves the console from dist/console, so a run builds it first when it is missing
 * or older than its sources (a fresh clone, or an edit to console/ since the last build).
 */
const ROOT = new URL('../..', import.meta.url).pathname;
const BUILT = join(ROOT, 'dist/console/index.html');

function newestIn(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestIn(join(path, name))));
}

export default function setup(): void {
  const sources = newestIn(join(ROOT, 'console'));
  if (existsSync(BUILT) && statSync(BUILT).mtimeMs >= sources) return;
  execFileSync('npm', ['run', '-s', 'build:console'], { cwd: ROOT, stdio: 'inherit' });
}

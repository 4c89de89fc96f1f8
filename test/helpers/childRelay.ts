import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildRelay {
  process: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * pixelrelay's real entry point (`src/main.ts`) in a process of its own, so a test can kill it for real.
 * Waits until the process logs that it started. `preload` modules are imported first (e.g. a fault to inject).
 */
export async function startChildRelay(env: Record<string, string>, timeoutMs = 20_000, preload: string[] = []): Promise<ChildRelay> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...preload.flatMap((file) => ['--import', file]), 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const started = await Promise.race([
    new Promise<boolean>((resolve) => {
      const check = () => (output.includes('pixelrelay started') ? resolve(true) : setTimeout(check, 50));
      check();
    }),
    exited.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs)),
  ]);
  if (!started) {
    child.kill('SIGKILL');
    throw new Error(`child relay did not start:\n${output}`);
  }
  return { process: child, output: () => output, exited, kill: (signal) => child.kill(signal) };
}

import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every process the bench started, so that any exit path (error, Ctrl-C, deadline) can stop them all. */
const started = new Set<ChildProcess>();

export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
}

/** Starts `node args…` in `cwd` with exactly `env` (plus PATH), its output going to `logFile`. */
export function startNode(name: string, args: string[], options: { cwd: string; env: Record<string, string>; logFile: string }): Proc {
  const fd = openSync(options.logFile, 'a');
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  started.add(child);
  child.once('exit', () => started.delete(child));
  return { name, child, pid: child.pid, logFile: options.logFile };
}

/** Forks a TypeScript module of the bench (through tsx) with an IPC channel. */
export function forkBenchModule(name: string, modulePath: string, args: string[], logFile: string): Proc {
  const fd = openSync(logFile, 'a');
  const child = fork(modulePath, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', fd, fd, 'ipc'] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  started.add(child);
  child.once('exit', () => started.delete(child));
  return { name, child, pid: child.pid, logFile };
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** SIGTERM (a relay then shuts down in order and a --cpu-prof profile gets written), SIGKILL after `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (exited(child)) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

export async function stopAll(graceMs = 10_000): Promise<void> {
  await Promise.all([...started].map((child) => stopProcess(child, graceMs)));
}

/** Last resort on the way out (process 'exit' handlers must be synchronous). */
export function killAllNow(): void {
  for (const child of started) if (!exited(child)) child.kill('SIGKILL');
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU the process has used so far, in ms (resolution: one clock tick, usually 10 ms). */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / clockTicks();
  } catch {
    return undefined;
  }
}

/** VmRSS (now) and VmHWM (peak so far), in MB. */
export function memoryMb(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

export function cpuOf(procs: Proc[]): Record<string, number> {
  return Object.fromEntries(procs.map((p) => [p.name, cpuMs(p.pid) ?? Number.NaN]));
}

export function logPath(dir: string, name: string): string {
  return join(dir, `${name}.log`);
}

/** The last lines of a log, for error messages. */
export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Busy CPU of the whole machine so far (every core), in ms: /proc/stat's first line less idle and iowait. */
export function machineBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return ((user + nice + system + irq + softirq + steal) * 1000) / clockTicks();
}

/** Pids whose command name is `comm` (e.g. redis-server). */
export function pidsNamed(comm: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export const totalCpuMs = (pids: number[]) => pids.reduce((sum, pid) => sum + (cpuMs(pid) ?? 0), 0);

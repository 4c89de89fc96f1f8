// The relay under test: the checkout's own build, run as `npm start` runs it, in separate API and worker processes.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { freePort } from '../../testkit/freePort.js';
import { abort, checkAbort, isStopping, log, sleep } from './control.js';
import { BACKLOG_CAP, type BenchOptions } from './options.js';
import { logPath, type Proc, startNode, tail } from './processes.js';

export interface Relay {
  apis: Proc[];
  workers: Proc[];
  all: Proc[];
  apiUrls: string[];
}

export const relayProcs = (r: Relay) => [...r.apis, ...r.workers, ...r.all];

export function gitLabel(dir: string): string {
  try {
    const sha = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    let dirty = false;
    try {
      execFileSync('git', ['-C', dir, 'diff', '--quiet', 'HEAD', '--'], { stdio: 'ignore' });
    } catch {
      dirty = true;
    }
    return dirty ? `${sha}+changes` : sha;
  } catch {
    return basename(dir);
  }
}

/** The Node flags the relay's `npm start` runs it with (package.json), so the bench runs it as it is deployed. */
export function startFlags(relayDir: string): string[] {
  try {
    const start = (JSON.parse(readFileSync(join(relayDir, 'package.json'), 'utf8')) as { scripts?: { start?: string } }).scripts?.start ?? '';
    const m = /^node\s+(.*?)\s*dist\/main\.js/.exec(start);
    return m ? m[1]!.split(/\s+/).filter(Boolean) : [];
  } catch {
    return [];
  }
}

/** The pool size the relay gives adapter-pg, read from its source (so the INSERT ceiling uses as many connections). */
export function detectPoolSize(relayDir: string): { size: number; source: string } {
  for (const file of ['src/infra/prisma.ts', 'dist/infra/prisma.js']) {
    try {
      const text = readFileSync(join(relayDir, file), 'utf8');
      const m = /max:\s*(?:[\w.]+\s*\?\?\s*)?(\d+)/.exec(text);
      if (m) return { size: Number(m[1]), source: file };
    } catch {
      // try the next one
    }
  }
  return { size: 10, source: 'default (not found in the relay source)' };
}

export async function runLogged(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, logFile: string): Promise<void> {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${code}):\n${tail(logFile, 25)}`);
}

async function waitReady(url: string, proc: Proc, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    checkAbort();
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited (${proc.child.exitCode}):\n${tail(proc.logFile)}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready within ${timeoutMs} ms:\n${tail(proc.logFile)}`);
    await sleep(100);
  }
}

/** The environment of every relay process: the bench's own database, queue prefix, keys and upstream. */
export function relayEnvironment(
  o: BenchOptions,
  s: {
    databaseUrl: string;
    queuePrefix: string;
    publicUrl: string;
    apiKey: string;
    upstreamUrl: string;
    upstreamKey: string;
    webhookSecret: string;
    callbackSecret: string;
  },
): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    DATABASE_URL: s.databaseUrl,
    REDIS_URL: o.redisUrl,
    QUEUE_PREFIX: s.queuePrefix,
    PUBLIC_BASE_URL: s.publicUrl,
    API_KEYS: s.apiKey,
    PIXELBYTE_API_URL: s.upstreamUrl,
    PIXELBYTE_API_KEY: s.upstreamKey,
    PIXELBYTE_WEBHOOK_SECRET: s.webhookSecret,
    // The upstream finishes jobs at once: an edit whose webhook did not move it (the webhook raced the submit
    // response) is overdue 1 s after its estimate and gets polled on the next housekeeping round.
    RECONCILE_GRACE_MS: '1000',
    SHUTDOWN_TIMEOUT_MS: '8000',
    ...(o.backlog !== undefined ? { UPSTREAM_MAX_CONCURRENCY: String(BACKLOG_CAP) } : {}),
    ...(o.callbacks ? { CALLBACK_SIGNING_SECRET: s.callbackSecret, CALLBACK_ALLOW_PRIVATE: 'true', ALLOW_HTTP_CALLBACKS: 'true' } : {}),
    // The streams phase holds one stream per edit, all of one client, on one API process: past the default caps
    // (20 a client, 1,000 a process, 1,024 connections), raised here for the bench only.
    ...(o.streams > 0
      ? {
          WATCH_MAX_PER_CLIENT: String(o.streams + 100),
          WATCH_MAX_PER_PROCESS: String(o.streams + 100),
          HTTP_MAX_CONNECTIONS: String(o.streams + 1_000),
        }
      : {}),
    ...o.extraEnv,
  };
}

/**
 * Starts the relay's processes into `relay` (filled as they start, so whoever stops the run sees each one) and
 * waits until every API answers /readyz. A relay process that exits before the bench stops it aborts the run.
 */
export async function startRelay(
  relay: Relay,
  s: { o: BenchOptions; env: Record<string, string>; apiPorts: number[]; workDir: string; profileDir: string; nameOfPid: Map<number, string> },
): Promise<void> {
  const { o, env, apiPorts, workDir, profileDir, nameOfPid } = s;
  // Node names each profile CPU.<date>.<time>.<pid>.…; the pid tells whose it is.
  const nodeFlags = startFlags(o.relayDir);
  if (nodeFlags.length) log(`relay node flags (its npm start): ${nodeFlags.join(' ')}`);
  const nodeArgs = [...nodeFlags, ...(o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), 'dist/main.js'];
  if (o.cpuProf) mkdirSync(profileDir, { recursive: true });
  const start = (name: string, role: string, port: number) => {
    const proc = startNode(name, nodeArgs, { cwd: o.relayDir, env: { ...env, ROLE: role, PORT: String(port) }, logFile: logPath(workDir, name) });
    nameOfPid.set(proc.pid, name);
    proc.child.once('exit', (code, signal) => {
      if (!isStopping()) abort(`${name} exited (${code ?? signal}) during the run:\n${tail(proc.logFile)}`);
    });
    return proc;
  };
  const apiCount = apiPorts.length;
  if (o.roleAll) relay.all.push(start('all', 'all', apiPorts[0]!));
  else {
    for (const [i, port] of apiPorts.entries()) relay.apis.push(start(apiCount > 1 ? `api${i + 1}` : 'api', 'api', port));
    for (let i = 0; i < o.workerProcesses; i++) relay.workers.push(start(o.workerProcesses > 1 ? `worker${i + 1}` : 'worker', 'worker', await freePort()));
  }
  await Promise.all(relay.apiUrls.map((url, i) => waitReady(url, (relay.apis[i] ?? relay.all[0])!)));
}

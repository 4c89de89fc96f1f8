import { join } from 'node:path';
import { REPO_ROOT } from './options.js';
import { forkBenchModule, logPath, type Proc, tail } from './processes.js';
import type { UpstreamCommand } from './upstream.js';

// The bench's PixelByte stand-in (upstream.ts) in a process of its own, driven over IPC.
export interface Upstream {
  proc: Proc;
  url: string;
  callbackUrl: string;
  send<T>(command: UpstreamCommand): Promise<T>;
}

export async function forkUpstream(workDir: string, settings: { apiKey: string; webhookSecret: string; delayMs: number }): Promise<Upstream> {
  const proc = forkBenchModule(
    'upstream',
    join(REPO_ROOT, 'tools/bench/upstream.ts'),
    ['--serve', JSON.stringify({ ...settings, webhookConcurrency: 64 })],
    logPath(workDir, 'upstream'),
  );
  const pending = new Map<number, (v: unknown) => void>();
  let nextId = 0;
  const ready = new Promise<{ url: string; callbackUrl: string }>((resolve, reject) => {
    proc.child.on('message', (m: { ready?: { url: string; callbackUrl: string }; id?: number; result?: unknown }) => {
      if (m.ready) resolve(m.ready);
      else if (m.id !== undefined) {
        pending.get(m.id)?.(m.result);
        pending.delete(m.id);
      }
    });
    proc.child.once('exit', (code) => reject(new Error(`the upstream stand-in exited (${code}):\n${tail(proc.logFile)}`)));
  });
  const addresses = await ready;
  return {
    proc,
    ...addresses,
    send: <T>(command: UpstreamCommand) =>
      new Promise<T>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, resolve as (v: unknown) => void);
        if (!proc.child.send({ id, command })) reject(new Error('the upstream stand-in is gone'));
      }),
  };
}

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import { EditRepository } from '../../src/edits/repository.js';
import { createPrisma, type Db } from '../../src/infra/prisma.js';
import { startPixelRelay, type RunningRelay } from '../../src/start.js';
import { isolatedDatabase, testRedisUrl } from './services.js';

export const SIM_API_KEY = 'pb_sim_key';
export const SIM_WEBHOOK_SECRET = 'whsec_sim_secret';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Every log line the relay wrote, as parsed JSON, for assertions. */
export class CapturedLogs {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk, _enc, done) => {
      this.lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  text(): string {
    return this.lines.join('\n');
  }
}

export interface TestRelay {
  relay: RunningRelay;
  config: Config;
  /** Bearer header for the test's own API key (unique per relay, so counts can be scoped to it). */
  auth: { authorization: string };
  apiKey: string;
  clientId: string;
  db: Db;
  edits: EditRepository;
  logs: CapturedLogs;
  stop(): Promise<void>;
}

/**
 * A real pixelrelay (API + workers) on a real port against the test database, real Redis under a
 * queue prefix of its own, and the given PixelByte URL (normally a simulator).
 */
export async function startTestRelay(pixelbyteUrl: string, env: Record<string, string> = {}): Promise<TestRelay> {
  const port = await freePort();
  const apiKey = `test-key-${randomUUID()}`;
  const database = await isolatedDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: `test-${randomUUID().slice(0, 8)}`,
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    PIXELBYTE_API_URL: pixelbyteUrl,
    PIXELBYTE_API_KEY: SIM_API_KEY,
    PIXELBYTE_WEBHOOK_SECRET: SIM_WEBHOOK_SECRET,
    API_KEYS: apiKey,
    LOG_LEVEL: 'info',
    UPSTREAM_TIMEOUT_MS: '3000',
    SUBMIT_BACKOFF_BASE_MS: '50',
    SUBMIT_BACKOFF_MAX_MS: '200',
    SWEEP_INTERVAL_MS: '500',
    ...env,
  });
  const logs = new CapturedLogs();
  const relay = await startPixelRelay(config, pino({ level: config.LOG_LEVEL }, logs.stream));
  const db = createPrisma(config.DATABASE_URL, { max: 2 });
  const { clientIdOf } = await import('../../src/edits/service.js');
  return {
    relay,
    config,
    apiKey,
    auth: { authorization: `Bearer ${apiKey}` },
    clientId: clientIdOf(apiKey),
    db,
    edits: new EditRepository(db),
    logs,
    stop: async () => {
      await relay.stop();
      await db.$disconnect();
      await database.drop();
    },
  };
}

/** Polls until `check` returns a value (not undefined) or the time runs out. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

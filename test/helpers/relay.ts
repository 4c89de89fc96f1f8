import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../simulator/index.js';
import { createRepositories, type Repositories } from '../../src/compose.js';
import { type Config, loadConfig } from '../../src/config.js';
import { createPrisma, type Db } from '../../src/infra/prisma.js';
import { createRedis } from '../../src/infra/redis.js';
import { createQueues, type EditQueues } from '../../src/queue/queues.js';
import { clientIdOf } from '../../src/shared/ids.js';
import { type RunningRelay, startPixelRelay } from '../../src/start.js';
import { freePort } from '../../testkit/freePort.js';
import { isolatedDatabase, testQueuePrefix, testRedisUrl } from './services.js';

export { freePort };

export const SIM_API_KEY = 'pb_sim_key';
export const SIM_WEBHOOK_SECRET = 'whsec_sim_secret';
/** Callbacks are on in every test relay (pass CALLBACK_SIGNING_SECRET: '' to turn them off). */
export const TEST_CALLBACK_SECRET = `whsec_${Buffer.from('pixelrelay-test-callback-signing-key').toString('base64')}`;

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
  /**
   * The relay's repositories on a connection of the test's own, wired as the relay wires them (a terminal move
   * writes its callback row). Moves made through them are not enqueued: the relay's sweepers find their work.
   */
  edits: Repositories['edits'];
  deliveries: Repositories['deliveries'];
  logs: CapturedLogs;
  stop(): Promise<void>;
}

/**
 * A real pixelrelay (API + workers) on a real port against the test database, real Redis under a
 * queue prefix of its own, and the given PixelByte URL (normally a simulator).
 */
export interface TestRelayOptions {
  /** Share another relay's database (and pass its QUEUE_PREFIX in env) to act as more processes of one deployment. */
  share?: TestRelay;
}

export async function startTestRelay(pixelbyteUrl: string, env: Record<string, string> = {}, options: TestRelayOptions = {}): Promise<TestRelay> {
  const port = await freePort();
  const apiKey = options.share?.apiKey ?? `test-key-${randomUUID()}`;
  const database = options.share ? { url: options.share.config.DATABASE_URL, drop: async () => {} } : await isolatedDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: options.share?.config.QUEUE_PREFIX ?? testQueuePrefix(),
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
    WORKER_LOCK_DURATION_MS: '2000',
    CALLBACK_SIGNING_SECRET: TEST_CALLBACK_SECRET,
    ...env,
  });
  const logs = new CapturedLogs();
  const relay = await startPixelRelay(config, pino({ level: config.LOG_LEVEL }, logs.stream));
  const db = createPrisma(config.DATABASE_URL, { max: 2 });
  return {
    relay,
    config,
    apiKey,
    auth: { authorization: `Bearer ${apiKey}` },
    clientId: clientIdOf(apiKey),
    db,
    ...createRepositories(db),
    logs,
    stop: async () => {
      await relay.stop();
      await db.$disconnect();
      await database.drop();
    },
  };
}

export interface RelayWithSimulator {
  sim: Simulator;
  /** The simulator's base URL (the relay's PIXELBYTE_API_URL), for more relays or direct calls. */
  simUrl: string;
  t: TestRelay;
  /** Stops the relay, then closes the simulator. */
  stop(): Promise<void>;
}

/** A simulator on a random local port and a test relay against it (see `startTestRelay` for `env` and `options`). */
export async function startRelayWithSimulator(
  env: Record<string, string> = {},
  simulator: SimulatorOptions = {},
  options: TestRelayOptions = {},
): Promise<RelayWithSimulator> {
  const sim = createSimulator(simulator);
  const simUrl = await sim.listen(0, '127.0.0.1');
  let t: TestRelay;
  try {
    t = await startTestRelay(simUrl, env, options);
  } catch (err) {
    await sim.close();
    throw err;
  }
  return {
    sim,
    simUrl,
    t,
    stop: async () => {
      try {
        await t.stop();
      } finally {
        await sim.close();
      }
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

/** Environment for another process of the same deployment as `t` (same database, Redis, queues, PixelByte, public URL). */
export function sameDeploymentEnv(t: TestRelay, overrides: Record<string, string> = {}): Record<string, string> {
  const c = t.config;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DATABASE_URL: c.DATABASE_URL,
    REDIS_URL: c.REDIS_URL,
    QUEUE_PREFIX: c.QUEUE_PREFIX,
    PIXELBYTE_API_URL: c.PIXELBYTE_API_URL,
    PIXELBYTE_API_KEY: c.PIXELBYTE_API_KEY,
    PIXELBYTE_WEBHOOK_SECRET: c.PIXELBYTE_WEBHOOK_SECRET,
    PUBLIC_BASE_URL: c.PUBLIC_BASE_URL,
    API_KEYS: c.API_KEYS.join(','),
    UPSTREAM_TIMEOUT_MS: String(c.UPSTREAM_TIMEOUT_MS),
    SUBMIT_BACKOFF_BASE_MS: String(c.SUBMIT_BACKOFF_BASE_MS),
    SUBMIT_BACKOFF_MAX_MS: String(c.SUBMIT_BACKOFF_MAX_MS),
    SUBMIT_FENCE_GRACE_MS: String(c.SUBMIT_FENCE_GRACE_MS),
    SWEEP_INTERVAL_MS: String(c.SWEEP_INTERVAL_MS),
    WORKER_LOCK_DURATION_MS: String(c.WORKER_LOCK_DURATION_MS),
    RECONCILE_GRACE_MS: String(c.RECONCILE_GRACE_MS),
    ...(c.CALLBACK_SIGNING_SECRET ? { CALLBACK_SIGNING_SECRET: c.CALLBACK_SIGNING_SECRET } : {}),
    ...(c.WEBHOOK_URL_SECRET ? { WEBHOOK_URL_SECRET: c.WEBHOOK_URL_SECRET } : {}),
    ALLOW_HTTP_CALLBACKS: String(c.ALLOW_HTTP_CALLBACKS),
    CALLBACK_ALLOW_PRIVATE: String(c.CALLBACK_ALLOW_PRIVATE),
    CALLBACK_TIMEOUT_MS: String(c.CALLBACK_TIMEOUT_MS),
    CALLBACK_RETRY_SCALE: String(c.CALLBACK_RETRY_SCALE),
    LOG_LEVEL: 'info',
    ...(c.UPSTREAM_MAX_CONCURRENCY ? { UPSTREAM_MAX_CONCURRENCY: String(c.UPSTREAM_MAX_CONCURRENCY) } : {}),
    ...storageEnvOf(c),
  };
  return { ...env, ...overrides };
}

/** The bucket and mirror settings of `c`, when it has a bucket: another process of the deployment mirrors alike. */
function storageEnvOf(c: Config): Record<string, string> {
  if (!c.STORAGE_S3_BUCKET) return {};
  const optional = (name: string, value: string | undefined) => (value === undefined ? {} : { [name]: value });
  return {
    STORAGE_S3_BUCKET: c.STORAGE_S3_BUCKET,
    ...optional('STORAGE_S3_ENDPOINT', c.STORAGE_S3_ENDPOINT),
    STORAGE_S3_REGION: c.STORAGE_S3_REGION,
    ...optional('STORAGE_S3_ACCESS_KEY_ID', c.STORAGE_S3_ACCESS_KEY_ID),
    ...optional('STORAGE_S3_SECRET_ACCESS_KEY', c.STORAGE_S3_SECRET_ACCESS_KEY),
    STORAGE_S3_FORCE_PATH_STYLE: String(c.STORAGE_S3_FORCE_PATH_STYLE),
    STORAGE_S3_PREFIX: c.STORAGE_S3_PREFIX,
    STORAGE_URL_TTL_SECONDS: String(c.STORAGE_URL_TTL_SECONDS),
    OUTPUT_FETCH_ALLOW_PRIVATE: String(c.OUTPUT_FETCH_ALLOW_PRIVATE),
    OUTPUT_MAX_BYTES: String(c.OUTPUT_MAX_BYTES),
    OUTPUT_FETCH_TIMEOUT_MS: String(c.OUTPUT_FETCH_TIMEOUT_MS),
    MIRROR_DEADLINE_MS: String(c.MIRROR_DEADLINE_MS),
    MIRROR_BACKOFF_BASE_MS: String(c.MIRROR_BACKOFF_BASE_MS),
    MIRROR_BACKOFF_MAX_MS: String(c.MIRROR_BACKOFF_MAX_MS),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** The relay's own queues on a Redis connection of the test's, to pause, resume or inspect them; `close` ends both. */
export function queuesOf(t: TestRelay): EditQueues {
  const redis = createRedis(t.config.REDIS_URL, 'worker');
  const queues = createQueues(redis, t.config.QUEUE_PREFIX);
  return {
    ...queues,
    close: async () => {
      await queues.close();
      await redis.quit();
    },
  };
}

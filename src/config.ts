import { z } from 'zod';
import { isStrongSigningSecret } from './callbacks/signing.js';

const PIXELBYTE_PRODUCTION_URL = 'https://api.muvi.video';

/**
 * The secrets printed in the README and docker-compose.yml, which `npm run dev`, the compose stack and the simulator
 * use out of the box: anyone can read them, so they never guard (or stand in for) a real PixelByte account. Written
 * out here because the product imports none of its tools; test/unit/publishedSecrets.test.ts checks that every
 * secret the dev tool and compose set is refused.
 */
const PUBLISHED_SECRETS = {
  PIXELBYTE_API_KEY: { values: ['pb_sim_key'], message: "is the simulator's key; set your PixelByte key" },
  PIXELBYTE_WEBHOOK_SECRET: { values: ['whsec_sim_secret'], message: "is the simulator's secret; set your PixelByte webhook secret" },
  API_KEYS: {
    values: ['dev-key-0123456789abcdef', 'local-compose-key-0123456789'],
    message: 'contains a key published in the README or compose file; use your own',
  },
  ADMIN_TOKEN: { values: ['dev-admin-token-0123456789abcdef0123'], message: 'is the published development token; use your own' },
  CALLBACK_SIGNING_SECRET: {
    values: ['whsec_cGl4ZWxyZWxheS1kZXYtY2FsbGJhY2stc2VjcmV0ISE='],
    message: 'is the published development secret; make your own',
  },
} as const satisfies Record<string, { values: readonly string[]; message: string }>;

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
    ROLE: z.enum(['all', 'api', 'worker']).default('all'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: integer(0, 65535).default(3000),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).default('postgresql://postgres@127.0.0.1:5432/pixelrelay'),
    /** Postgres connections per process (API, worker or both): its statements take well under a millisecond, so a few serve hundreds of edits/s. */
    DATABASE_POOL_MAX: integer(1, 1000).default(10),
    /** The longest a query waits for a connection (a free one in the pool, or a new one); then it fails (503) instead of queueing forever. */
    DATABASE_ACQUIRE_TIMEOUT_MS: integer(100, 600_000).default(5_000),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
    QUEUE_PREFIX: z
      .string()
      .regex(/^[\w-]+$/)
      .default('pixelrelay'),
    PIXELBYTE_API_URL: z.url({ protocol: /^https?$/ }).default(PIXELBYTE_PRODUCTION_URL),
    PIXELBYTE_API_KEY: z.string().min(1),
    PIXELBYTE_WEBHOOK_SECRET: z.string().min(1),
    /**
     * True only when no one but this deployment submits with PIXELBYTE_API_KEY: then, before resending a submit
     * whose outcome is unknown, any job PixelByte lists that we do not know is ours, and can be adopted.
     */
    PIXELBYTE_KEY_EXCLUSIVE: bool.default(false),
    /** Keys the per-edit token in the webhook URLs handed to PixelByte. Unset: derived from PIXELBYTE_WEBHOOK_SECRET. */
    WEBHOOK_URL_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }),
    API_KEYS: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().min(16, 'each key must be at least 16 characters')).min(1, 'at least one key is required')),
    /** Set: the admin API (/admin/clients, /admin/keys) and the queue dashboard (/admin/queues) require it. Unset: they do not exist. */
    ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
    /** Set: GET /metrics wants it as a bearer token. Unset: /metrics is open (keep it off the public internet). */
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    BODY_LIMIT_BYTES: integer(1024, 10 * 1024 * 1024).default(256 * 1024),
    /** A request's headers and body must arrive within this; a client trickling its body is cut off (408). */
    HTTP_REQUEST_TIMEOUT_MS: integer(100, 600_000).default(30_000),
    /**
     * An idle keep-alive connection is closed after this. Longer than the idle timeout of the load balancer in
     * front (AWS ALB: 60 s), so the balancer closes first and never sends a request into a closing connection (502).
     */
    HTTP_KEEP_ALIVE_TIMEOUT_MS: integer(100, 3_600_000).default(72_000),
    /** Open connections per API process; more are refused at accept, so sockets and memory stay bounded. */
    HTTP_MAX_CONNECTIONS: integer(1, 1_000_000).default(1024),
    UPSTREAM_TIMEOUT_MS: integer(100, 120_000).default(30_000),
    SUBMIT_MAX_ATTEMPTS: integer(1, 50).default(5),
    SUBMIT_BACKOFF_BASE_MS: integer(1, 600_000).default(1_000),
    SUBMIT_BACKOFF_MAX_MS: integer(1, 3_600_000).default(60_000),
    SUBMIT_FENCE_GRACE_MS: integer(1, 86_400_000).default(10 * 60_000),
    SUBMIT_ANSWER_RECORD_RETRY_MS: integer(0, 3_600_000).default(2 * 60_000),
    UPSTREAM_MAX_CONCURRENCY: integer(1, 100_000).optional(),
    UPSTREAM_MAX_PER_MINUTE: integer(1, 1_000_000).optional(),
    RECONCILE_GRACE_MS: integer(0, 86_400_000).default(60_000),
    RECONCILE_MAX_INTERVAL_MS: integer(100, 86_400_000).default(10 * 60_000),
    IDEMPOTENCY_TTL_HOURS: integer(24, 24 * 365).default(24),
    WORKER_CONCURRENCY: integer(1, 1000).default(10),
    /** ROLE=worker processes lower their CPU priority by this much (nice), so API processes on the host answer first. */
    WORKER_NICE: integer(0, 19).default(10),
    /** A worker that dies holds its jobs this long before another takes them over (BullMQ's lock and stall check). */
    WORKER_LOCK_DURATION_MS: integer(1_000, 600_000).default(30_000),
    SWEEP_INTERVAL_MS: integer(50, 3_600_000).default(15_000),
    SHUTDOWN_TIMEOUT_MS: integer(100, 600_000).default(25_000),
    PRETTY_LOGS: bool.default(false),
    /** Set: callbacks to clients are on, signed with it. Unset: a POST with a callbackUrl is refused. */
    CALLBACK_SIGNING_SECRET: z.string().refine(isStrongSigningSecret, 'must be whsec_ followed by the base64 of at least 24 random bytes').optional(),
    ALLOW_HTTP_CALLBACKS: bool.default(false),
    CALLBACK_ALLOW_PRIVATE: bool.default(false),
    CALLBACK_TIMEOUT_MS: integer(100, 120_000).default(15_000),
    /** Multiplies the callback retry schedule (5 s … 24 h); tests use a small fraction. */
    CALLBACK_RETRY_SCALE: z.coerce.number().positive().max(1_000).default(1),
  })
  .superRefine((env, ctx) => {
    if (env.PIXELBYTE_API_URL.replace(/\/+$/, '') !== PIXELBYTE_PRODUCTION_URL) return;
    // PixelByte only calls https webhooks; catching this at start beats every submit failing with INVALID_WEBHOOK_URL.
    if (!env.PUBLIC_BASE_URL.startsWith('https://')) {
      ctx.addIssue({ code: 'custom', path: ['PUBLIC_BASE_URL'], message: 'must be https when PIXELBYTE_API_URL is PixelByte production' });
    }
    for (const [name, { values, message }] of Object.entries(PUBLISHED_SECRETS)) {
      const given = env[name as keyof typeof PUBLISHED_SECRETS];
      const givenValues: readonly string[] = given === undefined ? [] : typeof given === 'string' ? [given] : given;
      const published: readonly string[] = values;
      if (givenValues.some((value) => published.includes(value))) ctx.addIssue({ code: 'custom', path: [name], message });
    }
  });

export type Config = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once at start. Throws a ConfigError whose message is one line naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty string is how shells and compose files say "unset".
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (parsed.success)
    return {
      ...parsed.data,
      PIXELBYTE_API_URL: parsed.data.PIXELBYTE_API_URL.replace(/\/+$/, ''),
      PUBLIC_BASE_URL: parsed.data.PUBLIC_BASE_URL.replace(/\/+$/, ''),
    };
  const problems = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? 'environment');
    const given = present[name];
    const missing = given === undefined;
    const secret = /KEY|SECRET|PASSWORD|TOKEN/.test(name);
    if (missing) return `${name} is required`;
    return `${name} ${issue.message}${secret ? '' : ` (got ${JSON.stringify(given)})`}`;
  });
  throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
}

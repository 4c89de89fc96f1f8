import { isIP } from 'node:net';
import { z } from 'zod';
import { isStrongSigningSecret } from './engine/callbacks/signing.js';

const PIXELBYTE_PRODUCTION_URL = 'https://api.muvi.video';
/** PixelByte's `maxSize` for an uploaded image: 10 MB, counted as 10,485,760 bytes. */
const PIXELBYTE_MAX_UPLOAD_BYTES = 10_485_760;
const DEFAULT_INLINE_IMAGE_MAX_BYTES = 256 * 1024;

/**
 * The secrets printed in the README and docker-compose.yml, which `npm run dev`, the compose stack and the simulator
 * use out of the box: anyone can read them, so they never guard (or stand in for) a real PixelByte account. Written
 * out here because the product imports none of its tools; test/config/publishedSecrets.test.ts checks that every
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
  // The local S3 server's pair (npm run dev) and the compose stack's MinIO root user.
  STORAGE_S3_ACCESS_KEY_ID: { values: ['S3RVER', 'pixelrelay-minio'], message: 'is a local stack’s published storage key; use your own' },
  STORAGE_S3_SECRET_ACCESS_KEY: { values: ['S3RVER', 'pixelrelay-minio-secret'], message: 'is a local stack’s published storage secret; use your own' },
} as const satisfies Record<string, { values: readonly string[]; message: string }>;

/**
 * A secret sent as `Authorization: Bearer <token>`. The header's token is visible ASCII and ends at the first
 * whitespace (ours is read as `Bearer\s+(\S+)`), so one configured with anything else could never authenticate:
 * refused at start rather than found out at the first 401. The token itself is never in the message.
 */
function bearerToken(min: number) {
  return z
    .string()
    .min(min, `must be at least ${min} characters`)
    .superRefine((token, ctx) => {
      if (/\s/.test(token)) {
        ctx.addIssue({ code: 'custom', message: 'contains whitespace, which a bearer token cannot carry: it could never authenticate' });
      } else if (!/^[\x21-\x7e]*$/.test(token)) {
        ctx.addIssue({ code: 'custom', message: 'must be visible ASCII: a bearer token with other characters could never authenticate' });
      }
    });
}

/** What Fastify's `trustProxy` (proxy-addr) takes as one trusted proxy: an address, a CIDR, or a named range. */
function isProxyAddress(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128));
}

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
    /** Our bearer token at PixelByte. */
    PIXELBYTE_API_KEY: bearerToken(1),
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
      .pipe(z.array(bearerToken(16)).min(1, 'at least one key is required')),
    /** Set: the admin API (/admin/clients, /admin/keys) and the queue dashboard (/admin/queues) require it. Unset: they do not exist. */
    ADMIN_TOKEN: bearerToken(32).optional(),
    /** Set: GET /metrics wants it as a bearer token. Unset: /metrics is open (keep it off the public internet). */
    METRICS_TOKEN: bearerToken(16).optional(),
    /**
     * Postgres cancels a /metrics statement that runs longer, and the read's locks and snapshot go with it. Below the
     * 5 s a scrape waits for Postgres, a read that a lock holds up still answers that scrape (with the source down).
     */
    METRICS_STATEMENT_TIMEOUT_MS: integer(100, 600_000).default(4_000),
    /**
     * Invalid bearer tokens one address (an IPv6 /64) may present on /v1 per AUTH_FAILURE_WINDOW_MS, counted in
     * Redis across replicas; past it, 429 TOO_MANY_AUTH_FAILURES without a key lookup. 0: no limit.
     */
    AUTH_FAILURE_LIMIT: integer(0, 1_000_000).default(20),
    AUTH_FAILURE_WINDOW_MS: integer(1_000, 86_400_000).default(60_000),
    /**
     * The proxies or load balancers in front (addresses or CIDRs, comma-separated, or proxy-addr's `loopback`,
     * `linklocal`, `uniquelocal`): a request from one of them is from the address its X-Forwarded-For names.
     * Unset: from the connection's peer, so behind a balancer every client shares the balancer's address.
     */
    TRUST_PROXY: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().refine(isProxyAddress, 'must list addresses or CIDRs (e.g. 10.0.0.0/16), or loopback, linklocal, uniquelocal')).min(1))
      .optional(),
    /** The largest JSON body a route takes (413 PAYLOAD_TOO_LARGE beyond it), but for POST /v1/edits and its estimate. */
    BODY_LIMIT_BYTES: integer(1024, 10 * 1024 * 1024).default(256 * 1024),
    /**
     * The largest body POST /v1/edits and POST /v1/edits/estimate take: an edit may carry its images inline as data:
     * URLs, a third larger than the images. The default holds five at INLINE_IMAGE_MAX_BYTES.
     */
    EDIT_BODY_LIMIT_BYTES: integer(1024, 64 * 1024 * 1024).default(2 * 1024 * 1024),
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
    /** Edits waiting across every client; past it POST /v1/edits answers 429 QUEUE_FULL. Unset: no limit. */
    MAX_QUEUED_EDITS: integer(1, 100_000_000).optional(),
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
    /**
     * Callback attempts in flight at once to one client's receivers, and to one origin (scheme, host, port), across
     * every worker process. A receiver that hangs holds at most this many of the workers' slots; a delivery over
     * the limit waits for a slot without spending an attempt.
     */
    CALLBACK_CONCURRENCY_PER_CLIENT: integer(1, 10_000).default(4),
    CALLBACK_CONCURRENCY_PER_ORIGIN: integer(1, 10_000).default(4),
    /** A redeliver of one edit's callback sooner than this after the last accepted one is refused (429 REDELIVER_TOO_SOON). */
    CALLBACK_REDELIVER_COOLDOWN_MS: integer(0, 86_400_000).default(60_000),
    /** The largest image POST /v1/uploads takes (413 FILE_TOO_LARGE beyond it); PixelByte's own limit, 10 MB, is the most. */
    UPLOAD_MAX_BYTES: integer(1, PIXELBYTE_MAX_UPLOAD_BYTES).default(PIXELBYTE_MAX_UPLOAD_BYTES),
    /**
     * The largest image an edit may carry inline as a data: URL, decoded (413 FILE_TOO_LARGE beyond it); at accept
     * it is uploaded as POST /v1/uploads would. Unset: 256 KiB (as Replicate allows), or UPLOAD_MAX_BYTES when that is
     * lower; a larger image is uploaded first.
     */
    INLINE_IMAGE_MAX_BYTES: integer(1, PIXELBYTE_MAX_UPLOAD_BYTES).optional(),
    /**
     * How long PixelByte keeps an uploaded file: it documents deletion 60 minutes after the upload. Only a simulator
     * that deletes sooner (its `uploadLifeMs`) wants another value; an upload's `expiresAt` is its start plus this.
     */
    PIXELBYTE_UPLOAD_LIFE_MS: integer(1_000, 86_400_000).default(60 * 60_000),
    /**
     * An edit naming an upload is refused (400 UPLOAD_EXPIRED), or failed before its submit, when the upload has less
     * than this left: PixelByte must still find the file when it runs the job, which takes a while after the submit.
     */
    UPLOAD_EXPIRY_MARGIN_MS: integer(0, 3_600_000).default(5 * 60_000),
    /**
     * Set: every output is mirrored into this bucket (any S3-compatible store) before its edit is `completed`, and
     * uploads keep a copy there to be uploaded to PixelByte again once its file is gone. Unset: no mirroring.
     */
    STORAGE_S3_BUCKET: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a bucket name: 3-63 lowercase letters, digits, dots and hyphens')
      .optional(),
    /** Unset: AWS S3 itself. Set for MinIO, R2 or any other S3-compatible store. */
    STORAGE_S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    /**
     * The endpoint presigned GETs name, when clients reach the store at another address than pixelrelay does (a compose
     * stack: the relay at http://minio:9000, a browser at http://localhost:9000). Unset: STORAGE_S3_ENDPOINT.
     */
    STORAGE_S3_PUBLIC_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    STORAGE_S3_REGION: z.string().min(1).default('us-east-1'),
    /** Both or neither; neither: the SDK's default chain (environment, profile, instance role). */
    STORAGE_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    STORAGE_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    /** `bucket` in the path, not the host name: what MinIO and most local stores want. */
    STORAGE_S3_FORCE_PATH_STYLE: bool.default(false),
    /** Put before every key, as given (`pixelrelay/` makes `pixelrelay/<client>/<edit>/0.png`). */
    STORAGE_S3_PREFIX: z
      .string()
      .regex(/^[\w!\-.*'()/]*$/, "may hold only letters, digits and !-_.*'()/")
      .refine((p) => !p.startsWith('/'), 'must not start with /')
      .default(''),
    /** The life of the presigned GET URL every read of an edit gives each mirrored output (S3 allows at most 7 days). */
    STORAGE_URL_TTL_SECONDS: integer(1, 7 * 24 * 3_600).default(3_600),
    /**
     * Lets output downloads (the mirror's GETs of PixelByte's output URLs) reach loopback and private addresses, over
     * http too, as CALLBACK_ALLOW_PRIVATE and ALLOW_HTTP_CALLBACKS do for callbacks: for local stacks and tests only.
     */
    OUTPUT_FETCH_ALLOW_PRIVATE: bool.default(false),
    /** An output larger than this is not stored (its `mirror.error` says so); the edit completes without it. */
    OUTPUT_MAX_BYTES: integer(1, 5 * 1024 ** 3).default(64 * 1024 ** 2),
    /** The longest one output's download and store may take before that try is given up (and retried). */
    OUTPUT_FETCH_TIMEOUT_MS: integer(100, 3_600_000).default(120_000),
    /**
     * How long an edit stays `storing` while its outputs cannot be stored (PixelByte's CDN or the bucket failing):
     * then it completes all the same, with `mirror.error` on each output that could not be stored.
     */
    MIRROR_DEADLINE_MS: integer(1_000, 7 * 86_400_000).default(15 * 60_000),
    MIRROR_BACKOFF_BASE_MS: integer(1, 600_000).default(1_000),
    MIRROR_BACKOFF_MAX_MS: integer(1, 3_600_000).default(60_000),
    /** Edits one worker process mirrors at once (each streams its outputs one after another). */
    MIRROR_CONCURRENCY: integer(1, 1_000).default(4),
    /** The longest `Prefer: wait` a request is granted (seconds); `wait` alone asks for this much. */
    MAX_PREFER_WAIT_SECONDS: integer(1, 600).default(60),
    /** Waits (`Prefer: wait`) and event streams open at once for one client, and in one API process; past them, 429 TOO_MANY_WATCHES. */
    WATCH_MAX_PER_CLIENT: integer(1, 100_000).default(20),
    WATCH_MAX_PER_PROCESS: integer(1, 1_000_000).default(1_000),
    /** While anyone waits or streams, each re-reads Postgres this often whatever Redis says: what a lost wake-up costs at most. */
    WATCH_REREAD_MS: integer(50, 60_000).default(2_000),
    /** An event stream sends a `ping` event this often, so proxies and clients see it alive. */
    EVENTS_PING_MS: integer(50, 300_000).default(15_000),
    /** An event stream whose unsent output passes this (a reader that stopped reading) is closed; it resumes with Last-Event-ID. */
    EVENTS_BUFFER_LIMIT_BYTES: integer(1024, 64 * 1024 * 1024).default(256 * 1024),
  })
  .transform((env) => ({ ...env, INLINE_IMAGE_MAX_BYTES: env.INLINE_IMAGE_MAX_BYTES ?? Math.min(DEFAULT_INLINE_IMAGE_MAX_BYTES, env.UPLOAD_MAX_BYTES) }))
  .superRefine((env, ctx) => {
    if (env.INLINE_IMAGE_MAX_BYTES > env.UPLOAD_MAX_BYTES) {
      ctx.addIssue({ code: 'custom', path: ['INLINE_IMAGE_MAX_BYTES'], message: 'must be at most UPLOAD_MAX_BYTES (an inline image is uploaded)' });
    }
    if (env.EDIT_BODY_LIMIT_BYTES < env.BODY_LIMIT_BYTES) {
      ctx.addIssue({ code: 'custom', path: ['EDIT_BODY_LIMIT_BYTES'], message: 'must be at least BODY_LIMIT_BYTES' });
    }
    // An inline image at the largest must fit in an edit, or it would be refused for the body's size instead.
    const oneInlineImage = Math.ceil(env.INLINE_IMAGE_MAX_BYTES / 3) * 4;
    if (env.EDIT_BODY_LIMIT_BYTES <= oneInlineImage) {
      ctx.addIssue({
        code: 'custom',
        path: ['EDIT_BODY_LIMIT_BYTES'],
        message: `must be more than INLINE_IMAGE_MAX_BYTES in base64 (${oneInlineImage}), so that an edit can carry such an image`,
      });
    }
    if (env.UPLOAD_EXPIRY_MARGIN_MS >= env.PIXELBYTE_UPLOAD_LIFE_MS) {
      // Every upload would be too old for an edit the moment it was made.
      ctx.addIssue({ code: 'custom', path: ['UPLOAD_EXPIRY_MARGIN_MS'], message: 'must be less than PIXELBYTE_UPLOAD_LIFE_MS' });
    }
    if ((env.STORAGE_S3_ACCESS_KEY_ID === undefined) !== (env.STORAGE_S3_SECRET_ACCESS_KEY === undefined)) {
      const missing = env.STORAGE_S3_ACCESS_KEY_ID === undefined ? 'STORAGE_S3_ACCESS_KEY_ID' : 'STORAGE_S3_SECRET_ACCESS_KEY';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'must be set with the other of the pair (or neither, for the SDK default chain)' });
    }
    if (env.MIRROR_BACKOFF_MAX_MS < env.MIRROR_BACKOFF_BASE_MS) {
      ctx.addIssue({ code: 'custom', path: ['MIRROR_BACKOFF_MAX_MS'], message: 'must be at least MIRROR_BACKOFF_BASE_MS' });
    }
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
    // An issue with one entry of a list (API_KEYS, TRUST_PROXY) says which one, which a secret's value cannot.
    const entry = typeof issue.path[1] === 'number' ? ` (${name === 'API_KEYS' ? 'key' : 'entry'} ${issue.path[1] + 1})` : '';
    const given = present[name];
    const missing = given === undefined;
    const secret = /KEY|SECRET|PASSWORD|TOKEN/.test(name);
    // A check across variables (custom) may name one left at its default: that is not one missing.
    if (missing) return issue.code === 'custom' ? `${name} ${issue.message} (unset: its default)` : `${name} is required`;
    return `${name}${entry} ${issue.message}${secret ? '' : ` (got ${JSON.stringify(given)})`}`;
  });
  throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
}

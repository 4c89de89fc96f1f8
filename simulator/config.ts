import { z } from 'zod';

// An empty variable means unset (z.coerce would read '' as 0).
const optionalMs = z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().nonnegative().optional());

const envSchema = z.object({
  SIMULATOR_PORT: z.coerce.number().int().min(0).max(65_535).default(4010),
  SIMULATOR_HOST: z.string().min(1).default('127.0.0.1'),
  SIMULATOR_API_KEY: z.string().min(1).default('pb_sim_key'),
  SIMULATOR_WEBHOOK_SECRET: z.string().min(1).default('whsec_sim_secret'),
  SIMULATOR_PENDING_MS: optionalMs,
  SIMULATOR_PROCESSING_MS: optionalMs,
  /** Base of the output URLs it hands out, when clients reach it under another address than it listens on. */
  SIMULATOR_PUBLIC_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url({ protocol: /^https?$/ }).optional()),
  /** Accept http webhook URLs to any host (a compose stack's `http://api:3000`), not only loopback. */
  SIMULATOR_HTTP_WEBHOOKS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type SimulatorConfig = z.infer<typeof envSchema>;

/** The simulator's settings from the environment; throws with every bad variable named. */
export function loadSimulatorConfig(env: NodeJS.ProcessEnv): SimulatorConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid simulator configuration: ${problems}`);
  }
  return parsed.data;
}

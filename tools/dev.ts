import { pino } from 'pino';
import { createSimulator } from '../simulator/index.js';
import { ConfigError, DEV_ADMIN_TOKEN, DEV_API_KEY, loadConfig } from '../src/config.js';
import { ensureDatabaseExists } from '../src/infra/database.js';
import { applyMigrations } from '../src/infra/migrate.js';
import { loggerOptions } from '../src/logger.js';
import { exitOnSignal } from '../src/shutdown.js';
import { startPixelRelay } from '../src/start.js';

/**
 * `npm run dev`: everything on one machine with no PixelByte account — the local database created and
 * migrated, the PixelByte simulator on :4010 (unless PIXELBYTE_API_URL points elsewhere), API and workers.
 */
const DEV_CALLBACK_SECRET = 'whsec_cGl4ZWxyZWxheS1kZXYtY2FsbGJhY2stc2VjcmV0ISE=';
const SIM_PORT = Number(process.env.SIMULATOR_PORT ?? 4010);
const useSimulator = !process.env.PIXELBYTE_API_URL;
const port = process.env.PORT ?? '3000';

const env = {
  NODE_ENV: 'development',
  LOG_LEVEL: 'info',
  // Human-readable lines, even piped (PRETTY_LOGS=false gives JSON).
  PRETTY_LOGS: 'true',
  API_KEYS: DEV_API_KEY,
  // The admin API, the CLI's admin commands and the queue dashboard (/admin/queues) on a dev machine.
  ADMIN_TOKEN: DEV_ADMIN_TOKEN,
  PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
  // Callbacks on, to local receivers too: a dev machine's own http://127.0.0.1 receiver is the usual target.
  CALLBACK_SIGNING_SECRET: DEV_CALLBACK_SECRET,
  ALLOW_HTTP_CALLBACKS: 'true',
  CALLBACK_ALLOW_PRIVATE: 'true',
  ...(useSimulator ? { PIXELBYTE_API_URL: `http://127.0.0.1:${SIM_PORT}`, PIXELBYTE_API_KEY: 'pb_sim_key', PIXELBYTE_WEBHOOK_SECRET: 'whsec_sim_secret' } : {}),
  ...process.env,
};

let config;
try {
  config = loadConfig(env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}
const logger = pino(loggerOptions(config));

if (await ensureDatabaseExists(config.DATABASE_URL)) logger.info('created the database');
const applied = await applyMigrations(config.DATABASE_URL);
logger.info({ applied }, applied.length ? 'applied migrations' : 'database schema is up to date');

const simulator = useSimulator ? createSimulator({ apiKeys: [config.PIXELBYTE_API_KEY], webhookSecret: config.PIXELBYTE_WEBHOOK_SECRET }) : undefined;
if (simulator) logger.info({ url: await simulator.listen(SIM_PORT, '127.0.0.1') }, 'PixelByte simulator listening');

const relay = await startPixelRelay(config, logger);
logger.info(
  { url: relay.url, apiKey: config.API_KEYS[0] === DEV_API_KEY ? DEV_API_KEY : '(from API_KEYS)' },
  `pixelrelay (dev) ready: curl -H 'authorization: Bearer ${config.API_KEYS[0] === DEV_API_KEY ? DEV_API_KEY : '<API_KEYS>'}' ${relay.url}/v1/edits`,
);

exitOnSignal(
  async () => {
    await relay.stop();
    await simulator?.close();
  },
  config.SHUTDOWN_TIMEOUT_MS,
  logger,
);

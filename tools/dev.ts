import { pino } from 'pino';
import { createSimulator } from '../simulator/index.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { ensureDatabaseExists } from '../src/infra/database.js';
import { applyMigrations } from '../src/infra/migrate.js';
import { loggerOptions } from '../src/logger.js';
import { exitOnSignal } from '../src/shutdown.js';
import { startPixelRelay } from '../src/start.js';
import { DEV_API_KEY, devEnvironment } from './devEnvironment.js';

/**
 * `npm run dev`: everything on one machine with no PixelByte account — the local database created and
 * migrated, the PixelByte simulator on :4010 (unless PIXELBYTE_API_URL points elsewhere), API and workers.
 */
const { env, simulatorPort } = devEnvironment(process.env);

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

const simulator =
  simulatorPort !== undefined ? createSimulator({ apiKeys: [config.PIXELBYTE_API_KEY], webhookSecret: config.PIXELBYTE_WEBHOOK_SECRET }) : undefined;
if (simulator) logger.info({ url: await simulator.listen(simulatorPort, '127.0.0.1') }, 'PixelByte simulator listening');

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

import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { createSimulator } from '../simulator/index.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { ensureDatabaseExists } from '../src/infra/database.js';
import { applyMigrations } from '../src/infra/migrate.js';
import { loggerOptions } from '../src/logger.js';
import { exitOnSignal } from '../src/shutdown.js';
import { startPixelRelay } from '../src/start.js';
import { startLocalS3 } from '../testkit/s3Server.js';
import { buildConsoleIfStale } from './consoleBuild.js';
import { DEV_API_KEY, DEV_BUCKET, devEnvironment } from './devEnvironment.js';

/**
 * `npm run dev`: everything on one machine with no PixelByte account — the local database created and
 * migrated, the PixelByte simulator on :4010 and a local S3 server on :4569 that every output is mirrored into
 * (unless PIXELBYTE_API_URL, or STORAGE_S3_BUCKET, points elsewhere), API and workers, and the console built if stale.
 */
const { env, simulatorPort, localS3Port } = devEnvironment(process.env);

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

// Objects kept across runs, so the links of earlier edits keep working.
const localS3 =
  localS3Port !== undefined ? await startLocalS3({ bucket: DEV_BUCKET, port: localS3Port, directory: path.join(tmpdir(), 'pixelrelay-dev-s3') }) : undefined;
if (localS3)
  logger.info({ endpoint: localS3.endpoint, bucket: localS3.bucket, directory: localS3.directory }, 'local S3 server listening (outputs are mirrored here)');

if (buildConsoleIfStale()) logger.info('built the console (dist/console)');
const relay = await startPixelRelay(config, logger);
logger.info(
  { url: relay.url, apiKey: config.API_KEYS[0] === DEV_API_KEY ? DEV_API_KEY : '(from API_KEYS)' },
  `pixelrelay (dev) ready: curl -H 'authorization: Bearer ${config.API_KEYS[0] === DEV_API_KEY ? DEV_API_KEY : '<API_KEYS>'}' ${relay.url}/v1/edits; the console is at ${relay.url}/console/`,
);

exitOnSignal(
  async () => {
    await relay.stop();
    await simulator?.close();
    await localS3?.close();
  },
  config.SHUTDOWN_TIMEOUT_MS,
  logger,
);

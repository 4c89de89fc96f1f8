import { pino } from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { yieldCpuToApi } from './cpuPriority.js';
import { loggerOptions } from './logger.js';
import { exitOnSignal } from './shutdown.js';
import { startPixelRelay } from './start.js';

// Production entry (`npm start`): ROLE decides whether this process serves the API, runs workers, or both.
let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}
const logger = pino(loggerOptions(config));
yieldCpuToApi(config, logger);
const relay = await startPixelRelay(config, logger);
logger.info({ role: config.ROLE, url: relay.url }, 'pixelrelay started');
exitOnSignal(relay.stop, config.SHUTDOWN_TIMEOUT_MS, logger);

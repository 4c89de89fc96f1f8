import { loadSimulatorConfig } from './config.js';
import { createSimulator } from './index.js';

// `npm run simulator`: a PixelByte stand-in for local development and benchmarks.
const config = loadSimulatorConfig(process.env);
const simulator = createSimulator({
  apiKeys: [config.SIMULATOR_API_KEY],
  webhookSecret: config.SIMULATOR_WEBHOOK_SECRET,
  ...(config.SIMULATOR_PENDING_MS === undefined ? {} : { pendingMs: config.SIMULATOR_PENDING_MS }),
  ...(config.SIMULATOR_PROCESSING_MS === undefined ? {} : { processingMs: config.SIMULATOR_PROCESSING_MS }),
  ...(config.SIMULATOR_PUBLIC_URL === undefined ? {} : { publicUrl: config.SIMULATOR_PUBLIC_URL }),
  httpWebhooks: config.SIMULATOR_HTTP_WEBHOOKS ? 'any' : 'loopback',
  logger: { level: config.LOG_LEVEL },
});

const url = await simulator.listen(config.SIMULATOR_PORT, config.SIMULATOR_HOST);
simulator.app.log.info({ url }, `PixelByte simulator listening on ${url} (control plane at ${url}/__sim)`);

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  simulator.app.log.info({ signal }, 'PixelByte simulator shutting down');
  const deadline = setTimeout(() => process.exit(1), 5_000);
  deadline.unref();
  await simulator.close();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

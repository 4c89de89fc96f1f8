import type { LoggerOptions } from 'pino';
import type { Config } from './config.js';
import { redactWebhookToken } from './upstream/webhookUrl.js';

// Secrets must never reach a log line, whatever logs them: request headers, config dumps, upstream errors.
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-pixelbyte-signature"]',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  'config.PIXELBYTE_API_KEY',
  'config.PIXELBYTE_WEBHOOK_SECRET',
  'config.WEBHOOK_URL_SECRET',
  'config.API_KEYS',
  'config.ADMIN_TOKEN',
  'ADMIN_TOKEN',
  'config.METRICS_TOKEN',
  'METRICS_TOKEN',
  'PIXELBYTE_API_KEY',
  'PIXELBYTE_WEBHOOK_SECRET',
  'WEBHOOK_URL_SECRET',
  'API_KEYS',
  'apiKey',
  'secret',
];

// Request URLs are kept, but the webhook token in one is a credential. The webhook route masks it itself
// (under any logger); this catches every other line that logs a request, such as a 404 for a wrong method.
const URL_PATHS = new Set(['req.url']);

function censor(value: unknown, path: string[]): unknown {
  return URL_PATHS.has(path.join('.')) && typeof value === 'string' ? redactWebhookToken(value) : '[redacted]';
}

export function loggerOptions(config: Pick<Config, 'LOG_LEVEL' | 'PRETTY_LOGS'>): LoggerOptions {
  return {
    level: config.LOG_LEVEL,
    redact: { paths: [...REDACTED_PATHS, ...URL_PATHS], censor },
    ...(config.PRETTY_LOGS ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  };
}

import type { LoggerOptions } from 'pino';
import type { Config } from './config.js';

// Secrets must never reach a log line, whatever logs them: request headers, config dumps, upstream errors.
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-pixelbyte-signature"]',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  'config.PIXELBYTE_API_KEY',
  'config.PIXELBYTE_WEBHOOK_SECRET',
  'config.API_KEYS',
  'PIXELBYTE_API_KEY',
  'PIXELBYTE_WEBHOOK_SECRET',
  'API_KEYS',
  'apiKey',
  'secret',
];

export function loggerOptions(config: Pick<Config, 'LOG_LEVEL' | 'PRETTY_LOGS'>): LoggerOptions {
  return {
    level: config.LOG_LEVEL,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(config.PRETTY_LOGS ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  };
}

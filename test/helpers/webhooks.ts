import { createHmac } from 'node:crypto';
import type { Config } from '../../src/config.js';
import { signPixelByteWebhook } from '../../src/upstream/signature.js';
import { WEBHOOK_PATH_PREFIX, webhookToken, webhookUrlKey } from '../../src/upstream/webhookUrl.js';
import { SIM_WEBHOOK_SECRET } from './relay.js';

/**
 * The path of an edit's webhook URL on a relay with `config`: with the edit's own token by default, with
 * `token` when given (a wrong one), or with none (`null`: the URL of an edit submitted before tokens).
 */
export function webhookPath(config: Pick<Config, 'PIXELBYTE_WEBHOOK_SECRET' | 'WEBHOOK_URL_SECRET'>, editId: string, token?: string | null): string {
  if (token === null) return `${WEBHOOK_PATH_PREFIX}/${editId}`;
  return `${WEBHOOK_PATH_PREFIX}/${token ?? webhookToken(webhookUrlKey(config), editId)}/${editId}`;
}

/** A webhook exactly as PixelByte would sign it: raw body, timestamp header, signature header. */
export function signedWebhook(payload: object, options: { secret?: string; timestamp?: number } = {}) {
  const body = JSON.stringify(payload);
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-pixelbyte-timestamp': String(timestamp),
      'x-pixelbyte-signature': signPixelByteWebhook(options.secret ?? SIM_WEBHOOK_SECRET, timestamp, body),
    },
  };
}

/**
 * Bytes signed as PixelByte's documentation says, HMAC-SHA256 of `<timestamp>.<raw body>`, computed here over the
 * bytes themselves: whatever they are, UTF-8 or not.
 */
export function signedRawWebhook(body: Buffer, options: { secret?: string; timestamp?: number } = {}) {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const hmac = createHmac('sha256', options.secret ?? SIM_WEBHOOK_SECRET)
    .update(`${timestamp}.`)
    .update(body);
  return {
    payload: body,
    headers: { 'content-type': 'application/json', 'x-pixelbyte-timestamp': timestamp, 'x-pixelbyte-signature': `sha256=${hmac.digest('hex')}` },
  };
}

export function completedPayload(jobId: string, imageUrl = `https://cdn.example.com/${jobId}.png`) {
  return {
    jobId,
    requestId: 'req_test',
    status: 'completed',
    output: { imageUrl, metadata: { width: 1024, height: 1024, format: 'png' } },
    completedAt: new Date().toISOString(),
  };
}

import { signPixelByteWebhook } from '../../src/upstream/signature.js';
import { SIM_WEBHOOK_SECRET } from './relay.js';

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

export function completedPayload(jobId: string, imageUrl = `https://cdn.example.com/${jobId}.png`) {
  return { jobId, requestId: 'req_test', status: 'completed', output: { imageUrl, metadata: { width: 1024, height: 1024, format: 'png' } }, completedAt: new Date().toISOString() };
}

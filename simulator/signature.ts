import { createHmac } from 'node:crypto';

/**
 * PixelByte's webhook signature as its documentation states it: HMAC-SHA256 over `<timestamp>.<raw body>`, sent
 * as `sha256=<lowercase hex>`. Written here from the spec rather than taken from the relay's verifier, so a
 * mistake in one is caught by the other (test/simulator/webhooks.test.ts verifies these with the relay's code).
 */
export function signWebhook(secret: string, timestamp: number | string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

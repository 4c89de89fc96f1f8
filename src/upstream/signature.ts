import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * PixelByte signs `<timestamp>.<raw body>` with HMAC-SHA256 and sends `sha256=<lowercase hex>`. The body is the
 * bytes as they arrived: text decoded and encoded again is not them when they were not UTF-8. A string is
 * taken as its UTF-8 encoding.
 */
export const SIGNATURE_HEADER = 'x-pixelbyte-signature';
export const TIMESTAMP_HEADER = 'x-pixelbyte-timestamp';
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export function signPixelByteWebhook(secret: string, timestamp: number | string, rawBody: Uint8Array | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

export type SignatureCheck =
  | { ok: true; signedAt: Date }
  | { ok: false; reason: 'MISSING_SIGNATURE' | 'MALFORMED_SIGNATURE' | 'STALE_TIMESTAMP' | 'SIGNATURE_MISMATCH' };

export function verifyPixelByteWebhook(args: {
  secret: string;
  rawBody: Uint8Array | string;
  signature: string | undefined;
  timestamp: string | undefined;
  now?: Date;
  toleranceSeconds?: number;
}): SignatureCheck {
  const { secret, rawBody, signature, timestamp } = args;
  if (!signature || !timestamp) return { ok: false, reason: 'MISSING_SIGNATURE' };
  if (!/^\d{1,12}$/.test(timestamp) || !/^sha256=[0-9a-f]{64}$/.test(signature)) {
    return { ok: false, reason: 'MALFORMED_SIGNATURE' };
  }
  const nowSeconds = Math.floor((args.now ?? new Date()).getTime() / 1000);
  // Future timestamps are held to the same window: a skewed clock is tolerated, a replay years later is not.
  if (Math.abs(nowSeconds - Number(timestamp)) > (args.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS)) {
    return { ok: false, reason: 'STALE_TIMESTAMP' };
  }
  const expected = Buffer.from(signPixelByteWebhook(secret, timestamp, rawBody));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'SIGNATURE_MISMATCH' };
  }
  return { ok: true, signedAt: new Date(Number(timestamp) * 1000) };
}

import { createHmac } from 'node:crypto';

// Standard Webhooks (https://www.standardwebhooks.com): the secret is `whsec_` + base64 of the key bytes,
// and `webhook-signature` is `v1,` + base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")).
const PREFIX = 'whsec_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
export const MIN_SECRET_BYTES = 24;

/** The key bytes of a `whsec_` secret, or null when it is malformed or shorter than MIN_SECRET_BYTES. */
export function signingKeyOf(secret: string): Buffer | null {
  if (!secret.startsWith(PREFIX)) return null;
  const encoded = secret.slice(PREFIX.length);
  if (!BASE64.test(encoded)) return null;
  const key = Buffer.from(encoded, 'base64');
  return key.length >= MIN_SECRET_BYTES ? key : null;
}

export const isStrongSigningSecret = (secret: string): boolean => signingKeyOf(secret) !== null;

/** A process signs with one secret: decoding it again for every callback showed in the worker's profile. */
let decoded: { secret: string; key: Buffer } | undefined;

function keyOf(secret: string): Buffer {
  if (decoded?.secret !== secret) {
    const key = signingKeyOf(secret);
    if (!key) throw new Error('the callback signing secret is malformed'); // loadConfig refuses such a secret at start
    decoded = { secret, key };
  }
  return decoded.key;
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** The three Standard Webhooks headers for one attempt at sending `body` as event `id`. */
export function signCallback(secret: string, id: string, sentAt: Date, body: string): SignedHeaders {
  const key = keyOf(secret);
  const timestamp = String(Math.floor(sentAt.getTime() / 1000));
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}

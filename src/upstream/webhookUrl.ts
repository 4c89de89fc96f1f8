import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The webhook URL pixelrelay hands PixelByte carries a per-edit token, because PixelByte's signature covers
 * the body and not the URL: without it, a genuinely signed webhook could be replayed to another edit's address.
 * The token sits in the path before the edit id, so the edit id stays the URL's last segment (as it was
 * before tokens, for whoever reads edit ids off webhook URLs) and a tokenless URL is a route of its own.
 */
export const WEBHOOK_PATH_PREFIX = '/webhooks/pixelbyte';

// Fixed labels: the derived key and the tokens can never equal an HMAC made for any other purpose.
const DERIVED_KEY_LABEL = 'pixelrelay/webhook-url-key/v1';
const TOKEN_LABEL = 'pixelrelay/webhook-url-token/v1:';

/**
 * The key that makes tokens. WEBHOOK_URL_SECRET when set; otherwise derived from PixelByte's webhook secret,
 * so a deployment that predates the setting needs no new variable.
 */
export function webhookUrlKey(config: { WEBHOOK_URL_SECRET?: string; PIXELBYTE_WEBHOOK_SECRET: string }): Buffer {
  if (config.WEBHOOK_URL_SECRET) return Buffer.from(config.WEBHOOK_URL_SECRET, 'utf8');
  return createHmac('sha256', config.PIXELBYTE_WEBHOOK_SECRET).update(DERIVED_KEY_LABEL).digest();
}

/** HMAC-SHA256 of the edit id, base64url: 43 characters, safe in a path segment. */
export function webhookToken(key: Buffer, editId: string): string {
  return createHmac('sha256', key)
    .update(TOKEN_LABEL + editId)
    .digest('base64url');
}

/** Constant-time: how much of a guess matched must not show in how long the answer takes. */
export function isValidWebhookToken(key: Buffer, editId: string, token: string): boolean {
  const expected = Buffer.from(webhookToken(key, editId), 'utf8');
  const given = Buffer.from(token, 'utf8');
  // The length of a token is public (always 43), so refusing a wrong length early reveals nothing.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function pixelbyteWebhookUrl(publicBaseUrl: string, editId: string, key: Buffer): string {
  return `${publicBaseUrl}${WEBHOOK_PATH_PREFIX}/${webhookToken(key, editId)}/${editId}`;
}

const TOKEN_IN_PATH = new RegExp(`^(${WEBHOOK_PATH_PREFIX}/)[^/?#]+(/[^/?#]+)`);

/** The URL as it may be logged: a token in it is a credential. */
export function redactWebhookToken(url: string): string {
  return url.replace(TOKEN_IN_PATH, '$1[redacted]$2');
}

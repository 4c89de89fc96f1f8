import { createHash, randomBytes } from 'node:crypto';

/** Every key pixelrelay issues starts with this, so a leaked one is recognisable (and scannable) as ours. */
export const API_KEY_PREFIX = 'prk_live_';

/** 32 random bytes: 256 bits, far beyond guessing, so one SHA-256 is all the stretching a stored key needs. */
const SECRET_BYTES = 32;
/** The short, public id inside every key (`prk_live_<key id>_…`) that support and logs may quote. */
const KEY_ID_BYTES = 5;

const KEY_SHAPE = new RegExp(`^${API_KEY_PREFIX}[0-9a-f]{${KEY_ID_BYTES * 2}}_[A-Za-z0-9_-]{${Math.ceil((SECRET_BYTES * 4) / 3)}}$`);

/** Whether a bearer token could be a key we issued: anything else is refused without asking the database. */
export const looksLikeApiKey = (token: string): boolean => KEY_SHAPE.test(token);

export interface IssuedKey {
  /** The whole key, shown to the caller once and never stored. */
  apiKey: string;
  /** `prk_live_<key id>`: public, stored, unique. */
  prefix: string;
  hash: string;
}

export function issueApiKey(): IssuedKey {
  const prefix = `${API_KEY_PREFIX}${randomBytes(KEY_ID_BYTES).toString('hex')}`;
  const apiKey = `${prefix}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { apiKey, prefix, hash: hashApiKey(apiKey) };
}

/**
 * What the database keeps of a key, and what a request's key is looked up by. A plain SHA-256, not bcrypt or
 * argon2: those slow down guessing a low-entropy password, but nobody can guess 256 random bits, fast hash or
 * not, and a slow hash would cost every API request tens of milliseconds of CPU. Being deterministic, it can
 * be looked up through a unique index, so no request compares against every stored key.
 */
export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}

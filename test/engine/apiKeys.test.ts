import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { hashApiKey, issueApiKey, looksLikeApiKey } from '../../src/engine/clients/keys.js';

describe('API keys', () => {
  it('are prk_live_, a 10-hex key id, and 32 random bytes in base64url; the prefix is the public part', () => {
    const key = issueApiKey();
    expect(key.apiKey).toMatch(/^prk_live_[0-9a-f]{10}_[A-Za-z0-9_-]{43}$/);
    expect(key.prefix).toBe(key.apiKey.slice(0, 'prk_live_'.length + 10));
    expect(Buffer.from(key.apiKey.slice(key.prefix.length + 1), 'base64url')).toHaveLength(32);
  });

  it('are never issued twice', () => {
    const keys = Array.from({ length: 1_000 }, () => issueApiKey());
    expect(new Set(keys.map((k) => k.apiKey)).size).toBe(1_000);
    expect(new Set(keys.map((k) => k.prefix)).size).toBe(1_000);
  });

  it('are stored as the SHA-256 of the whole key, which is not the key', () => {
    const key = issueApiKey();
    expect(key.hash).toBe(createHash('sha256').update(key.apiKey).digest('hex'));
    expect(hashApiKey(key.apiKey)).toBe(key.hash);
    expect(key.hash).not.toContain(key.apiKey.slice(key.prefix.length + 1));
  });

  it('a token that cannot be one of ours is recognised without a lookup', () => {
    const { apiKey } = issueApiKey();
    expect(looksLikeApiKey(apiKey)).toBe(true);
    for (const token of [apiKey.slice(0, -1), `${apiKey}A`, apiKey.replace('prk_live_', 'prk_test_'), 'dev-key-0123456789abcdef', '', `${apiKey}\n`]) {
      expect(looksLikeApiKey(token), JSON.stringify(token)).toBe(false);
    }
  });
});

describe('ADMIN_TOKEN', () => {
  const required = {
    PIXELBYTE_API_KEY: 'pb_live_secret_value',
    PIXELBYTE_WEBHOOK_SECRET: 'whsec_secret_value',
    PUBLIC_BASE_URL: 'https://relay.example.com/',
    API_KEYS: 'aaaaaaaaaaaaaaaa1',
  };

  it('is optional: unset (or empty), the admin surface is off', () => {
    expect(loadConfig(required).ADMIN_TOKEN).toBeUndefined();
    expect(loadConfig({ ...required, ADMIN_TOKEN: '' }).ADMIN_TOKEN).toBeUndefined();
  });

  it('must be at least 32 characters, and a refusal does not print it', () => {
    expect(loadConfig({ ...required, ADMIN_TOKEN: 'a'.repeat(32) }).ADMIN_TOKEN).toBe('a'.repeat(32));
    const short = 'short-admin-token-4d1e';
    let message = '';
    try {
      loadConfig({ ...required, ADMIN_TOKEN: short });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/ADMIN_TOKEN must be at least 32 characters/);
    expect(message).not.toContain(short);
  });
});

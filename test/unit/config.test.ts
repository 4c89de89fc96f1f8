import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const required = {
  PIXELBYTE_API_KEY: 'pb_live_secret_value',
  PIXELBYTE_WEBHOOK_SECRET: 'whsec_secret_value',
  PUBLIC_BASE_URL: 'https://relay.example.com/',
  API_KEYS: 'aaaaaaaaaaaaaaaa1, bbbbbbbbbbbbbbbb2',
};

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('fills the documented defaults and normalises values', () => {
    const config = loadConfig(required);
    expect(config).toMatchObject({
      ROLE: 'all',
      HOST: '0.0.0.0',
      PORT: 3000,
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/pixelrelay',
      REDIS_URL: 'redis://127.0.0.1:6379',
      PIXELBYTE_API_URL: 'https://api.muvi.video',
      PUBLIC_BASE_URL: 'https://relay.example.com',
      API_KEYS: ['aaaaaaaaaaaaaaaa1', 'bbbbbbbbbbbbbbbb2'],
      LOG_LEVEL: 'info',
    });
  });

  it('names each missing variable on one line', () => {
    const message = errorOf({});
    expect(message.split('\n')).toHaveLength(1);
    for (const name of Object.keys(required)) expect(message).toContain(`${name} is required`);
  });

  it('names a malformed variable and shows the bad value, except for secrets', () => {
    expect(errorOf({ ...required, PORT: 'eighty' })).toMatch(/PORT .*"eighty"/);
    expect(errorOf({ ...required, ROLE: 'both' })).toMatch(/ROLE .*"both"/);
    expect(errorOf({ ...required, REDIS_URL: 'http://x' })).toMatch(/REDIS_URL/);
    const weakKey = errorOf({ ...required, API_KEYS: 'short' });
    expect(weakKey).toMatch(/API_KEYS .*at least 16 characters/);
    expect(weakKey).not.toContain('short"');
  });

  it('takes an optional METRICS_TOKEN of at least 16 characters, never echoing a short one', () => {
    expect(loadConfig(required).METRICS_TOKEN).toBeUndefined();
    expect(loadConfig({ ...required, METRICS_TOKEN: 'metrics-token-0123456789' }).METRICS_TOKEN).toBe('metrics-token-0123456789');
    const weak = errorOf({ ...required, METRICS_TOKEN: 'tiny-token' });
    expect(weak).toMatch(/METRICS_TOKEN must be at least 16 characters/);
    expect(weak).not.toContain('tiny-token');
  });

  it('refuses a plain-http PUBLIC_BASE_URL when talking to PixelByte production', () => {
    expect(errorOf({ ...required, PUBLIC_BASE_URL: 'http://relay.example.com' })).toMatch(/PUBLIC_BASE_URL must be https/);
    expect(loadConfig({ ...required, PUBLIC_BASE_URL: 'http://127.0.0.1:3000', PIXELBYTE_API_URL: 'http://127.0.0.1:4010' }).PUBLIC_BASE_URL).toBe(
      'http://127.0.0.1:3000',
    );
  });

  it('bounds slow and idle HTTP clients by default, and takes other limits', () => {
    expect(loadConfig(required)).toMatchObject({ HTTP_REQUEST_TIMEOUT_MS: 30_000, HTTP_KEEP_ALIVE_TIMEOUT_MS: 72_000, HTTP_MAX_CONNECTIONS: 1024 });
    expect(loadConfig({ ...required, HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '5000', HTTP_MAX_CONNECTIONS: '2' })).toMatchObject({
      HTTP_REQUEST_TIMEOUT_MS: 1000,
      HTTP_KEEP_ALIVE_TIMEOUT_MS: 5000,
      HTTP_MAX_CONNECTIONS: 2,
    });
    // 0 would mean "no limit" to node: exactly what these variables exist to prevent.
    expect(errorOf({ ...required, HTTP_REQUEST_TIMEOUT_MS: '0' })).toMatch(/HTTP_REQUEST_TIMEOUT_MS/);
    expect(errorOf({ ...required, HTTP_KEEP_ALIVE_TIMEOUT_MS: '0' })).toMatch(/HTTP_KEEP_ALIVE_TIMEOUT_MS/);
    expect(errorOf({ ...required, HTTP_MAX_CONNECTIONS: '0' })).toMatch(/HTTP_MAX_CONNECTIONS/);
  });

  it('sizes the Postgres pool and bounds the wait for a connection, by default and on request', () => {
    expect(loadConfig(required)).toMatchObject({ DATABASE_POOL_MAX: 10, DATABASE_ACQUIRE_TIMEOUT_MS: 5_000 });
    expect(loadConfig({ ...required, DATABASE_POOL_MAX: '4', DATABASE_ACQUIRE_TIMEOUT_MS: '250' })).toMatchObject({
      DATABASE_POOL_MAX: 4,
      DATABASE_ACQUIRE_TIMEOUT_MS: 250,
    });
    // 0 would be "no limit" to pg: a query waiting for a connection forever.
    expect(errorOf({ ...required, DATABASE_ACQUIRE_TIMEOUT_MS: '0' })).toMatch(/DATABASE_ACQUIRE_TIMEOUT_MS/);
    expect(errorOf({ ...required, DATABASE_POOL_MAX: '0' })).toMatch(/DATABASE_POOL_MAX/);
    expect(errorOf({ ...required, DATABASE_POOL_MAX: 'ten' })).toMatch(/DATABASE_POOL_MAX/);
  });
});

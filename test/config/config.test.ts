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

  it('takes METRICS_STATEMENT_TIMEOUT_MS in milliseconds, 4 s unless set', () => {
    expect(loadConfig(required).METRICS_STATEMENT_TIMEOUT_MS).toBe(4_000);
    expect(loadConfig({ ...required, METRICS_STATEMENT_TIMEOUT_MS: '1500' }).METRICS_STATEMENT_TIMEOUT_MS).toBe(1_500);
    expect(errorOf({ ...required, METRICS_STATEMENT_TIMEOUT_MS: '0' })).toMatch(/METRICS_STATEMENT_TIMEOUT_MS .*"0"/);
  });

  it('takes uploads of at most PixelByte’s 10 MB by default, lower on request, and knows how long PixelByte keeps them', () => {
    expect(loadConfig(required)).toMatchObject({ UPLOAD_MAX_BYTES: 10_485_760, PIXELBYTE_UPLOAD_LIFE_MS: 3_600_000, UPLOAD_EXPIRY_MARGIN_MS: 300_000 });
    expect(loadConfig({ ...required, UPLOAD_MAX_BYTES: '1048576', PIXELBYTE_UPLOAD_LIFE_MS: '5000', UPLOAD_EXPIRY_MARGIN_MS: '1000' })).toMatchObject({
      UPLOAD_MAX_BYTES: 1_048_576,
      PIXELBYTE_UPLOAD_LIFE_MS: 5_000,
      UPLOAD_EXPIRY_MARGIN_MS: 1_000,
    });
    // More than PixelByte takes could never be uploaded.
    expect(errorOf({ ...required, UPLOAD_MAX_BYTES: '10485761' })).toMatch(/UPLOAD_MAX_BYTES/);
    expect(errorOf({ ...required, UPLOAD_MAX_BYTES: '0' })).toMatch(/UPLOAD_MAX_BYTES/);
    // A margin as long as the life would refuse every upload the moment it was made.
    expect(errorOf({ ...required, PIXELBYTE_UPLOAD_LIFE_MS: '60000', UPLOAD_EXPIRY_MARGIN_MS: '60000' })).toMatch(
      /UPLOAD_EXPIRY_MARGIN_MS must be less than PIXELBYTE_UPLOAD_LIFE_MS/,
    );
  });

  it('takes data: URLs of 256 KiB decoded by default (UPLOAD_MAX_BYTES when lower), in edit bodies of 2 MiB, and keeps the limits consistent', () => {
    expect(loadConfig(required)).toMatchObject({ INLINE_IMAGE_MAX_BYTES: 262_144, EDIT_BODY_LIMIT_BYTES: 2_097_152, BODY_LIMIT_BYTES: 262_144 });
    expect(loadConfig({ ...required, UPLOAD_MAX_BYTES: '4096' }).INLINE_IMAGE_MAX_BYTES).toBe(4_096);
    expect(loadConfig({ ...required, INLINE_IMAGE_MAX_BYTES: '1048576', EDIT_BODY_LIMIT_BYTES: '4194304' })).toMatchObject({
      INLINE_IMAGE_MAX_BYTES: 1_048_576,
      EDIT_BODY_LIMIT_BYTES: 4_194_304,
    });
    // An inline image is an upload: no larger than one.
    expect(errorOf({ ...required, UPLOAD_MAX_BYTES: '4096', INLINE_IMAGE_MAX_BYTES: '8192' })).toMatch(
      /INLINE_IMAGE_MAX_BYTES must be at most UPLOAD_MAX_BYTES/,
    );
    // An edit body that cannot hold the largest inline image would refuse it as PAYLOAD_TOO_LARGE, not FILE_TOO_LARGE.
    expect(errorOf({ ...required, EDIT_BODY_LIMIT_BYTES: '300000' })).toMatch(
      /EDIT_BODY_LIMIT_BYTES must be more than INLINE_IMAGE_MAX_BYTES in base64 \(349528\)/,
    );
    // Edits take at least what every other JSON body may be.
    expect(errorOf({ ...required, BODY_LIMIT_BYTES: '4194304' })).toMatch(/EDIT_BODY_LIMIT_BYTES must be at least BODY_LIMIT_BYTES/);
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

  it('limits callbacks in flight per client and per origin, and redelivers per edit, by default and on request', () => {
    expect(loadConfig(required)).toMatchObject({
      CALLBACK_CONCURRENCY_PER_CLIENT: 4,
      CALLBACK_CONCURRENCY_PER_ORIGIN: 4,
      CALLBACK_REDELIVER_COOLDOWN_MS: 60_000,
    });
    const env = { ...required, CALLBACK_CONCURRENCY_PER_CLIENT: '2', CALLBACK_CONCURRENCY_PER_ORIGIN: '8', CALLBACK_REDELIVER_COOLDOWN_MS: '0' };
    expect(loadConfig(env)).toMatchObject({ CALLBACK_CONCURRENCY_PER_CLIENT: 2, CALLBACK_CONCURRENCY_PER_ORIGIN: 8, CALLBACK_REDELIVER_COOLDOWN_MS: 0 });
    // No slot at all would postpone every callback forever.
    expect(errorOf({ ...required, CALLBACK_CONCURRENCY_PER_CLIENT: '0' })).toMatch(/CALLBACK_CONCURRENCY_PER_CLIENT/);
    expect(errorOf({ ...required, CALLBACK_CONCURRENCY_PER_ORIGIN: '0' })).toMatch(/CALLBACK_CONCURRENCY_PER_ORIGIN/);
  });

  describe('bearer secrets, which must be sendable as `Authorization: Bearer <token>` (the token is `S+`)', () => {
    const admin = 'admin-token-0123456789abcdef-0123456789';
    const metrics = 'metrics-token-0123456789';
    it.each([
      ['ADMIN_TOKEN', 'a space inside', { ADMIN_TOKEN: `${admin.slice(0, 10)} ${admin.slice(10)}` }],
      ['ADMIN_TOKEN', 'a trailing newline (a secret read from a file)', { ADMIN_TOKEN: `${admin}\n` }],
      ['ADMIN_TOKEN', 'a leading tab', { ADMIN_TOKEN: `\t${admin}` }],
      ['ADMIN_TOKEN', 'a no-break space', { ADMIN_TOKEN: `${admin}\u00a0x` }],
      ['METRICS_TOKEN', 'a space inside', { METRICS_TOKEN: 'metrics token 0123456789' }],
      ['METRICS_TOKEN', 'a trailing carriage return', { METRICS_TOKEN: `${metrics}\r` }],
      ['API_KEYS', 'a space inside one key', { API_KEYS: 'aaaaaaaaaaaaaaaa1,bbbbbbbb bbbbbbbb2' }],
      ['API_KEYS', 'a line break inside the only key', { API_KEYS: 'aaaaaaaa\naaaaaaaa1' }],
      ['PIXELBYTE_API_KEY', 'a space inside (it is our bearer token at PixelByte)', { PIXELBYTE_API_KEY: 'pb_live_ secret_value' }],
    ])('%s with %s is refused at start, naming the variable and not the token', (name, _what, env) => {
      const message = errorOf({ ...required, ...env });
      expect(message).toMatch(new RegExp(`${name}( \\(key \\d\\))? contains whitespace`));
      expect(message).toMatch(/could never authenticate/);
      const given = Object.values(env)[0]!;
      for (const part of given.split(/[\s,]+/).filter((p) => p.length >= 6)) expect(message).not.toContain(part);
    });

    it('names which of API_KEYS has it', () => {
      expect(errorOf({ ...required, API_KEYS: 'aaaaaaaaaaaaaaaa1, bbbbbbbb bbbbbbbb2' })).toMatch(/API_KEYS \(key 2\) contains whitespace/);
    });

    it.each([
      ['ADMIN_TOKEN', { ADMIN_TOKEN: `${admin}é` }],
      ['METRICS_TOKEN', { METRICS_TOKEN: `${metrics}\u0001` }],
      ['API_KEYS', { API_KEYS: 'aaaaaaaaaaaaaaaa1,ключ-0123456789abcdef' }],
    ])('%s with a character outside visible ASCII is refused at start', (name, env) => {
      expect(errorOf({ ...required, ...env })).toMatch(new RegExp(`${name}( \\(key \\d\\))? must be visible ASCII`));
    });

    it('still takes tokens of any visible ASCII, and spaces around the comma-separated API_KEYS', () => {
      const config = loadConfig({
        ...required,
        API_KEYS: ' aaaaaaaaaaaaaaaa1 ,\tbbbbbbbbbbbbbbbb2 ',
        ADMIN_TOKEN: `${admin}!#$%&'*+-.^_\`|~/=`,
        METRICS_TOKEN: 'Zm9vYmFyYmF6cXV4Cg==',
      });
      expect(config.API_KEYS).toEqual(['aaaaaaaaaaaaaaaa1', 'bbbbbbbbbbbbbbbb2']);
      expect(config.ADMIN_TOKEN).toBe(`${admin}!#$%&'*+-.^_\`|~/=`);
    });
  });

  it('limits failed keys per address by default, and reads the proxies to trust', () => {
    expect(loadConfig(required)).toMatchObject({ AUTH_FAILURE_LIMIT: 20, AUTH_FAILURE_WINDOW_MS: 60_000 });
    expect(loadConfig(required).TRUST_PROXY).toBeUndefined();
    expect(loadConfig({ ...required, AUTH_FAILURE_LIMIT: '0' }).AUTH_FAILURE_LIMIT).toBe(0);
    expect(errorOf({ ...required, AUTH_FAILURE_WINDOW_MS: '10' })).toMatch(/AUTH_FAILURE_WINDOW_MS/);
    expect(errorOf({ ...required, AUTH_FAILURE_LIMIT: '-1' })).toMatch(/AUTH_FAILURE_LIMIT/);
    expect(loadConfig({ ...required, TRUST_PROXY: '10.0.0.0/16, 192.0.2.1,fd00::/8, loopback' }).TRUST_PROXY).toEqual([
      '10.0.0.0/16',
      '192.0.2.1',
      'fd00::/8',
      'loopback',
    ]);
    for (const bad of ['true', '10.0.0.0/33', 'fd00::/129', 'balancer.internal', '10.0.0.0/16/8', '1']) {
      expect(errorOf({ ...required, TRUST_PROXY: bad }), bad).toMatch(/TRUST_PROXY \(entry 1\) must list addresses or CIDRs/);
    }
  });
});

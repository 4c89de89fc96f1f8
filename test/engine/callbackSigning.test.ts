import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { signCallback, signingKeyOf } from '../../src/engine/callbacks/signing.js';

const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const body = JSON.stringify({ type: 'edit.completed', timestamp: '2026-01-01T00:00:00.000Z', data: { id: 'e', status: 'completed' } });

describe('callback signatures', () => {
  it('are Standard Webhooks signatures: the standardwebhooks package verifies them', () => {
    const headers = signCallback(secret, 'msg_123', new Date(), body);
    expect(headers['webhook-id']).toBe('msg_123');
    expect(headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('fail verification when the body, id, timestamp or secret differ', () => {
    const headers = signCallback(secret, 'msg_123', new Date(), body);
    const other = `whsec_${Buffer.alloc(32, 8).toString('base64')}`;
    expect(() => new Webhook(secret).verify(body.replace('completed', 'failed'), { ...headers })).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'msg_124' })).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) + 1) })).toThrow();
    expect(() => new Webhook(other).verify(body, { ...headers })).toThrow();
  });

  it('sign "id.timestamp.body" with the base64-decoded key, as the package does', () => {
    const at = new Date('2026-03-04T05:06:07Z');
    expect(signCallback(secret, 'msg_abc', at, body)['webhook-signature']).toBe(new Webhook(secret).sign('msg_abc', at, body));
  });
});

describe('the signing secret', () => {
  it('must be whsec_ and the base64 of at least 24 bytes', () => {
    expect(signingKeyOf(`whsec_${Buffer.alloc(24).toString('base64')}`)).toHaveLength(24);
    expect(signingKeyOf(`whsec_${Buffer.alloc(23).toString('base64')}`)).toBeNull();
    expect(signingKeyOf(Buffer.alloc(32).toString('base64'))).toBeNull(); // no prefix
    expect(signingKeyOf('whsec_not base64 at all!!!!!!!!!!!!!!!!!')).toBeNull();
    expect(signingKeyOf('whsec_')).toBeNull();
  });

  const required = {
    PIXELBYTE_API_KEY: 'pb_x',
    PIXELBYTE_WEBHOOK_SECRET: 'whsec_x',
    PUBLIC_BASE_URL: 'https://relay.example.com',
    API_KEYS: 'aaaaaaaaaaaaaaaa1',
  };

  it('turns callbacks on when set, with safe defaults for the rest', () => {
    expect(loadConfig(required)).toMatchObject({
      ALLOW_HTTP_CALLBACKS: false,
      CALLBACK_ALLOW_PRIVATE: false,
      CALLBACK_TIMEOUT_MS: 15_000,
      CALLBACK_RETRY_SCALE: 1,
    });
    expect(loadConfig(required).CALLBACK_SIGNING_SECRET).toBeUndefined();
    expect(loadConfig({ ...required, CALLBACK_SIGNING_SECRET: secret }).CALLBACK_SIGNING_SECRET).toBe(secret);
  });

  it('stops the start when weak or malformed, naming the variable but not showing it', () => {
    const weak = `whsec_${Buffer.from('short-key').toString('base64')}`;
    for (const bad of [weak, 'my-secret-value-that-is-long-enough-but-not-whsec']) {
      let message = '';
      try {
        loadConfig({ ...required, CALLBACK_SIGNING_SECRET: bad });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        message = (err as Error).message;
      }
      expect(message).toMatch(/CALLBACK_SIGNING_SECRET must be whsec_ followed by the base64 of at least 24 random bytes/);
      expect(message).not.toContain(bad);
    }
  });
});

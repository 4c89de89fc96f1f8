import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { loggerOptions } from '../../src/logger.js';
import { isValidWebhookToken, pixelbyteWebhookUrl, redactWebhookToken, webhookToken, webhookUrlKey } from '../../src/upstream/webhookUrl.js';

const editId = '0b9f3a4e-8c1d-4f6a-9e2b-5d7c1a3f8e60';
const otherEdit = '7d1c0e52-3b4a-4c8e-a1f0-92e6b5d4c317';
const derived = webhookUrlKey({ PIXELBYTE_WEBHOOK_SECRET: 'whsec_test_secret' });
const dedicated = webhookUrlKey({ PIXELBYTE_WEBHOOK_SECRET: 'whsec_test_secret', WEBHOOK_URL_SECRET: 'a-dedicated-webhook-url-secret-of-32+chars' });

describe('webhook URL tokens', () => {
  // Pinned: a change here would strand every webhook URL already handed to PixelByte for jobs still running.
  it('are stable for a given key and edit', () => {
    expect(webhookToken(derived, editId)).toBe('YbdBP_G6j5bGe9yzcS1yu0BdTJMgsjuIUrMtPINDP4c');
    expect(webhookToken(dedicated, editId)).toBe('R9u1JpkP4gkQrgWx-5TKej29cbrIum7YonybBbR5et4');
  });

  it('derive their key from the PixelByte secret under a label of their own, unless WEBHOOK_URL_SECRET is set', () => {
    expect(derived).not.toEqual(Buffer.from('whsec_test_secret'));
    expect(derived).toHaveLength(32);
    expect(webhookUrlKey({ PIXELBYTE_WEBHOOK_SECRET: 'whsec_other' })).not.toEqual(derived);
    expect(dedicated).toEqual(Buffer.from('a-dedicated-webhook-url-secret-of-32+chars'));
  });

  it('are valid for their own edit only, under their own key only', () => {
    const token = webhookToken(derived, editId);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(isValidWebhookToken(derived, editId, token)).toBe(true);
    expect(isValidWebhookToken(derived, otherEdit, token)).toBe(false);
    expect(isValidWebhookToken(dedicated, editId, token)).toBe(false);
  });

  it('refuse near misses, other lengths and non-ASCII without throwing', () => {
    const token = webhookToken(derived, editId);
    const flipped = (token[0] === 'A' ? 'B' : 'A') + token.slice(1);
    for (const guess of [flipped, token.slice(0, -1), `${token}A`, '', 'é'.repeat(43), token.toUpperCase()]) {
      expect(isValidWebhookToken(derived, editId, guess)).toBe(false);
    }
  });

  it('sit in the path before the edit id, which stays the last segment', () => {
    const url = pixelbyteWebhookUrl('https://relay.example.com', editId, derived);
    expect(url).toBe(`https://relay.example.com/webhooks/pixelbyte/${webhookToken(derived, editId)}/${editId}`);
    expect(url.split('/').at(-1)).toBe(editId);
  });

  it('are masked in request URLs by the production logger, whatever route logs them', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk, _enc, done) => {
        lines.push(String(chunk));
        done();
      },
    });
    const url = new URL(pixelbyteWebhookUrl('https://relay.example.com', editId, derived)).pathname;
    pino(loggerOptions({ LOG_LEVEL: 'info', PRETTY_LOGS: false }), sink).info(
      { req: { method: 'GET', url }, headers: { authorization: 'Bearer x' } },
      'incoming request',
    );
    expect(JSON.parse(lines[0]!)).toMatchObject({ req: { url: `/webhooks/pixelbyte/[redacted]/${editId}` }, headers: { authorization: '[redacted]' } });
  });

  it('are masked in URLs meant for logs, and other URLs are left alone', () => {
    const path = new URL(pixelbyteWebhookUrl('https://relay.example.com', editId, derived)).pathname;
    expect(redactWebhookToken(path)).toBe(`/webhooks/pixelbyte/[redacted]/${editId}`);
    expect(redactWebhookToken(`${path}?x=1`)).toBe(`/webhooks/pixelbyte/[redacted]/${editId}?x=1`);
    expect(redactWebhookToken(`/webhooks/pixelbyte/${editId}`)).toBe(`/webhooks/pixelbyte/${editId}`);
    expect(redactWebhookToken(`/v1/edits/${editId}`)).toBe(`/v1/edits/${editId}`);
  });
});

describe('WEBHOOK_URL_SECRET', () => {
  const required = {
    PIXELBYTE_API_KEY: 'pb_live_x',
    PIXELBYTE_WEBHOOK_SECRET: 'whsec_x',
    PUBLIC_BASE_URL: 'https://relay.example.com',
    API_KEYS: 'aaaaaaaaaaaaaaaa1',
  };

  it('is optional: without it the key is derived, so existing deployments need no new variable', () => {
    expect(loadConfig(required).WEBHOOK_URL_SECRET).toBeUndefined();
    expect(webhookUrlKey(loadConfig(required))).toEqual(webhookUrlKey({ PIXELBYTE_WEBHOOK_SECRET: 'whsec_x' }));
  });

  it('must be at least 32 characters, and a short one is named but never shown', () => {
    const short = 'too-short-secret-value';
    expect(() => loadConfig({ ...required, WEBHOOK_URL_SECRET: short })).toThrow(ConfigError);
    expect(() => loadConfig({ ...required, WEBHOOK_URL_SECRET: short })).toThrow(/WEBHOOK_URL_SECRET must be at least 32 characters/);
    expect(() => loadConfig({ ...required, WEBHOOK_URL_SECRET: short })).not.toThrow(new RegExp(short));
    expect(loadConfig({ ...required, WEBHOOK_URL_SECRET: 'x'.repeat(32) }).WEBHOOK_URL_SECRET).toBe('x'.repeat(32));
  });
});

import { describe, expect, it } from 'vitest';
import { signPixelByteWebhook, verifyPixelByteWebhook } from '../../src/upstream/signature.js';

// The test vector published in PixelByte's docs (shared/pixelbyte-api.md).
const secret = 'whsec_test_secret';
const timestamp = '1771416000';
const body =
  '{"jobId":"job_abc123","requestId":"req_xyz789","status":"completed","output":{"imageUrl":"https://cdn.muvi.video/outputs/job_abc123.png"},"completedAt":"2026-02-18T12:00:00.000Z"}';
const expected = 'sha256=52038bf97c0b77bd22e9cf7b44c3e8fa5724d0851241d0716d3bb819e500d0c6';
const signedAt = new Date(Number(timestamp) * 1000);

describe('PixelByte webhook signature', () => {
  it('matches the documented test vector', () => {
    expect(signPixelByteWebhook(secret, timestamp, body)).toBe(expected);
    expect(verifyPixelByteWebhook({ secret, rawBody: body, signature: expected, timestamp, now: signedAt })).toEqual({ ok: true, signedAt });
  });

  it('rejects a tampered body, a wrong secret and a wrong timestamp', () => {
    const now = signedAt;
    expect(verifyPixelByteWebhook({ secret, rawBody: body.replace('completed', 'failed'), signature: expected, timestamp, now })).toEqual({
      ok: false,
      reason: 'SIGNATURE_MISMATCH',
    });
    expect(verifyPixelByteWebhook({ secret: 'whsec_other', rawBody: body, signature: expected, timestamp, now })).toEqual({
      ok: false,
      reason: 'SIGNATURE_MISMATCH',
    });
    expect(verifyPixelByteWebhook({ secret, rawBody: body, signature: expected, timestamp: '1771416001', now })).toEqual({
      ok: false,
      reason: 'SIGNATURE_MISMATCH',
    });
  });

  it('rejects missing and malformed headers', () => {
    const now = signedAt;
    expect(verifyPixelByteWebhook({ secret, rawBody: body, signature: undefined, timestamp, now }).ok).toBe(false);
    expect(verifyPixelByteWebhook({ secret, rawBody: body, signature: expected, timestamp: undefined, now })).toEqual({
      ok: false,
      reason: 'MISSING_SIGNATURE',
    });
    expect(verifyPixelByteWebhook({ secret, rawBody: body, signature: expected.toUpperCase(), timestamp, now })).toEqual({
      ok: false,
      reason: 'MALFORMED_SIGNATURE',
    });
    expect(verifyPixelByteWebhook({ secret, rawBody: body, signature: expected, timestamp: '17714160.5', now })).toEqual({
      ok: false,
      reason: 'MALFORMED_SIGNATURE',
    });
  });

  it('accepts timestamps within 300 s either way and rejects older or further-future ones', () => {
    const at = (seconds: number) => new Date((Number(timestamp) + seconds) * 1000);
    expect(verifyPixelByteWebhook({ secret, rawBody: body, signature: expected, timestamp, now: at(300) }).ok).toBe(true);
    expect(verifyPixelByteWebhook({ secret, rawBody: body, signature: expected, timestamp, now: at(301) })).toEqual({ ok: false, reason: 'STALE_TIMESTAMP' });
    expect(verifyPixelByteWebhook({ secret, rawBody: body, signature: expected, timestamp, now: at(-301) })).toEqual({ ok: false, reason: 'STALE_TIMESTAMP' });
  });

  it('is computed over the bytes as they arrived, UTF-8 or not', () => {
    expect(verifyPixelByteWebhook({ secret, rawBody: Buffer.from(body), signature: expected, timestamp, now: signedAt }).ok).toBe(true);
    const notUtf8 = Buffer.concat([Buffer.from('{"jobId":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const overBytes = signPixelByteWebhook(secret, timestamp, notUtf8);
    expect(verifyPixelByteWebhook({ secret, rawBody: notUtf8, signature: overBytes, timestamp, now: signedAt }).ok).toBe(true);
    // Decoded, the 0xE9 becomes U+FFFD, whose encoding is three other bytes: not what PixelByte signed.
    expect(signPixelByteWebhook(secret, timestamp, notUtf8.toString('utf8'))).not.toBe(overBytes);
  });
});

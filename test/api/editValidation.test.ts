import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

let t: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ t, stop } = await startRelayWithSimulator({ BODY_LIMIT_BYTES: '16384', EDIT_BODY_LIMIT_BYTES: '16384', INLINE_IMAGE_MAX_BYTES: '8192' }));
});
afterAll(() => stop?.());

const valid = { prompt: 'Make the sky purple', image_urls: ['https://example.com/a.jpg'] };
const storedCount = () => t.db.edit.count({ where: { clientId: t.clientId } });

async function expectRejected(request: { payload?: unknown; body?: string; headers?: Record<string, string> }, status: number, code: string) {
  const before = await storedCount();
  const res = await t.relay.app!.inject({
    method: 'POST',
    url: '/v1/edits',
    headers: { ...t.auth, ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}), ...request.headers },
    ...(request.body !== undefined ? { body: request.body } : { payload: request.payload as object }),
  });
  expect(res.statusCode).toBe(status);
  const body = res.json();
  expect(body).toMatchObject({ statusCode: status, code, error: expect.any(String), message: expect.any(String) });
  expect(await storedCount()).toBe(before);
  return body;
}

describe('POST /v1/edits rejects bad input, storing nothing', () => {
  const cases: [string, unknown, string?][] = [
    ['missing prompt', { input: { image_urls: valid.image_urls } }, 'input.prompt'],
    ['empty prompt', { input: { ...valid, prompt: '' } }, 'input.prompt'],
    ['blank prompt', { input: { ...valid, prompt: '   ' } }, 'input.prompt'],
    ['over-long prompt', { input: { ...valid, prompt: 'x'.repeat(5001) } }, 'input.prompt'],
    ['no image URLs', { input: { ...valid, image_urls: [] } }, 'input.image_urls'],
    ['five image URLs', { input: { ...valid, image_urls: Array.from({ length: 5 }, (_, i) => `https://e.com/${i}.jpg`) } }, 'input.image_urls'],
    ['a non-URL', { input: { ...valid, image_urls: ['not a url'] } }, 'input.image_urls.0'],
    ['a non-http URL', { input: { ...valid, image_urls: ['ftp://example.com/a.jpg'] } }, 'input.image_urls.0'],
    ['bad size', { input: { ...valid, size: '4K' } }, 'input.size'],
    ['num_images 0', { input: { ...valid, num_images: 0 } }, 'input.num_images'],
    ['num_images 5', { input: { ...valid, num_images: 5 } }, 'input.num_images'],
    ['num_images "x"', { input: { ...valid, num_images: 'x' } }, 'input.num_images'],
    ['num_images 1.5', { input: { ...valid, num_images: 1.5 } }, 'input.num_images'],
    ['unknown input field', { input: { ...valid, seed: 7 } }, 'input'],
    ['unknown top-level field', { input: valid, urgency: 'high' }, '(body)'],
    ['missing input', {}, 'input'],
    ['callbackUrl not a URL', { input: valid, callbackUrl: 'nope' }, 'callbackUrl'],
    ['metadata not an object', { input: valid, metadata: 'x' }, 'metadata'],
  ];
  it.each(cases)('%s → 400 INVALID_INPUT naming the field', async (_name, payload, path) => {
    const body = await expectRejected({ payload }, 400, 'INVALID_INPUT');
    expect(body.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it('an unknown model → 400 MODEL_NOT_SUPPORTED listing the supported ones', async () => {
    const body = await expectRejected({ payload: { model: 'acme/imaginary-1/edit', input: valid } }, 400, 'MODEL_NOT_SUPPORTED');
    expect(body.details.supportedModels).toContain('pixelbyte-plus/pixel-image-1.0-pro/image-to-image');
  });

  it('malformed JSON → 400 INVALID_JSON', async () => {
    await expectRejected({ body: '{"input": {' }, 400, 'INVALID_JSON');
  });

  it('an empty JSON body → 400 INVALID_JSON', async () => {
    await expectRejected({ body: '' }, 400, 'INVALID_JSON');
  });

  it('a JSON array instead of an object → 400 INVALID_INPUT', async () => {
    await expectRejected({ body: '[1,2]' }, 400, 'INVALID_INPUT');
  });

  it('the wrong content type → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    await expectRejected({ body: 'prompt=hi', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectRejected({ body: JSON.stringify({ input: valid }), headers: { 'content-type': 'text/plain' } }, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('a body over the limit (EDIT_BODY_LIMIT_BYTES) → 413 PAYLOAD_TOO_LARGE', async () => {
    await expectRejected({ payload: { input: { ...valid, prompt: 'x'.repeat(5000) }, metadata: { pad: 'y'.repeat(12_000) } } }, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a missing, malformed or wrong bearer token → 401 UNAUTHORIZED', async () => {
    for (const authorization of [undefined, 'Basic abc', 'Bearer', 'Bearer wrong-key-wrong-key-wrong', `Bearer ${t.apiKey}x`]) {
      const before = await storedCount();
      const res = await t.relay.app!.inject({
        method: 'POST',
        url: '/v1/edits',
        headers: authorization ? { authorization } : {},
        payload: { input: valid },
      });
      expect(res.statusCode, String(authorization)).toBe(401);
      expect(res.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(await storedCount()).toBe(before);
    }
    const get = await t.relay.app!.inject({ method: 'GET', url: '/v1/edits' });
    expect(get.statusCode).toBe(401);
  });

  it('accepts num_images as a number or a string and sends PixelByte a string', async () => {
    for (const [given, sent] of [
      [2, '2'],
      ['4', '4'],
    ] as const) {
      const res = await t.relay.app!.inject({
        method: 'POST',
        url: '/v1/edits',
        headers: t.auth,
        payload: { input: { ...valid, num_images: given, size: '1K' } },
      });
      expect(res.statusCode).toBe(202);
      expect(res.json().input).toEqual({ ...valid, num_images: sent, size: '1K' });
      expect(res.json().estimatedCostMicroCents).toBe(45_000 * Number(sent));
    }
  });

  it('an unknown route → 404 ROUTE_NOT_FOUND in the same error shape', async () => {
    const res = await t.relay.app!.inject({ method: 'GET', url: '/v2/nothing' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ statusCode: 404, code: 'ROUTE_NOT_FOUND', error: 'Not Found' });
  });
});

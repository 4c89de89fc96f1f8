import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { fetchEdit, settledEdit, submitsFor } from '../helpers/edits.js';
import { dataUrl, GIF, JPEG, PNG, pngOfSize, uploadFile } from '../helpers/images.js';
import { freePort, startRelayWithSimulator, startTestRelay, type TestRelay } from '../helpers/relay.js';

// An edit's images inline as data: URLs: judged at accept, uploaded as POST /v1/uploads uploads, stored as upload:<id>.
const INLINE_MAX = 300 * 1024;

let t: TestRelay;
let sim: Simulator;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ t, sim, stop } = await startRelayWithSimulator({ INLINE_IMAGE_MAX_BYTES: String(INLINE_MAX) }, { pendingMs: 50, processingMs: 100 }));
});
afterAll(() => stop?.());

const PRO = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const post = (body: unknown, headers: Record<string, string> = {}, url = '/v1/edits') =>
  t.relay.app!.inject({ method: 'POST', url, headers: { ...t.auth, ...headers }, payload: body as object });
const counts = async () => ({
  edits: await t.db.edit.count({ where: { clientId: t.clientId } }),
  uploads: await t.db.upload.count({ where: { clientId: t.clientId } }),
  presigns: sim.calls.filter((c) => c.path === '/v1/uploads/presign').length,
});
const uploadIdOf = (reference: string) => /^upload:([0-9a-f-]{36})$/.exec(reference)![1]!;

describe('an edit with an image inline as a data: URL', () => {
  it('uploads it at accept, stores and shows upload:<id> in its place, and submits the upload’s fileUrl', async () => {
    const input = { prompt: 'inline', image_urls: ['https://example.com/a.png', dataUrl(PNG), dataUrl(JPEG, 'image/jpeg')] };
    const res = await post({ model: PRO, input });
    expect(res.statusCode, res.body).toBe(202);
    const shown = res.json().input.image_urls as string[];
    expect(shown[0]).toBe('https://example.com/a.png');
    const [png, jpeg] = [uploadIdOf(shown[1]!), uploadIdOf(shown[2]!)];

    const rows = await t.db.upload.findMany({ where: { id: { in: [png, jpeg] } } });
    expect(rows.find((r) => r.id === png)).toMatchObject({ clientId: t.clientId, contentType: 'image/png', bytes: PNG.length, sha256: sha256(PNG) });
    expect(rows.find((r) => r.id === jpeg)).toMatchObject({ clientId: t.clientId, contentType: 'image/jpeg', bytes: JPEG.length, sha256: sha256(JPEG) });
    // PixelByte has exactly the decoded bytes, as it would from POST /v1/uploads.
    const pngRow = rows.find((r) => r.id === png)!;
    expect(Buffer.from(await (await fetch(pngRow.fileUrl)).arrayBuffer())).toEqual(PNG);
    // The client may read it as its own upload.
    expect((await t.relay.app!.inject({ method: 'GET', url: `/v1/uploads/${png}`, headers: t.auth })).json()).toMatchObject({ sha256: sha256(PNG) });

    const stored = await t.db.edit.findUniqueOrThrow({ where: { id: res.json().id } });
    expect((stored.input as { image_urls: string[] }).image_urls).toEqual(shown);
    expect(JSON.stringify(stored.input)).not.toContain('data:');

    const edit = await settledEdit(t, res.json().id);
    expect(edit.status).toBe('completed');
    const [submit] = submitsFor(sim, edit.id);
    expect((submit!.body as { input: { image_urls: string[] } }).input.image_urls).toEqual([
      'https://example.com/a.png',
      pngRow.fileUrl,
      rows.find((r) => r.id === jpeg)!.fileUrl,
    ]);
  });

  it('uploads one data URL given twice once, and takes one as a model’s single image_url', async () => {
    const before = await counts();
    const twice = await post({ model: PRO, input: { prompt: 'twice', image_urls: [dataUrl(GIF, 'image/gif'), dataUrl(GIF, 'image/gif')] } });
    expect(twice.statusCode, twice.body).toBe(202);
    const [a, b] = twice.json().input.image_urls as string[];
    expect(a).toBe(b);
    expect((await counts()).uploads).toBe(before.uploads + 1);

    const single = await post({ model: 'openai/gpt-image-1-mini/edit-image', input: { prompt: 'one', image_url: dataUrl(PNG) } });
    expect(single.statusCode, single.body).toBe(202);
    expect(single.json().input.image_url).toMatch(/^upload:[0-9a-f-]{36}$/);
  });

  it('takes a data URL with parameters before ;base64 and a type in capitals', async () => {
    const res = await post({ input: { prompt: 'params', image_urls: [`data:IMAGE/PNG;name=photo.png;BASE64,${PNG.toString('base64')}`] } });
    expect(res.statusCode, res.body).toBe(202);
  });

  it('takes one of exactly INLINE_IMAGE_MAX_BYTES, in a body over BODY_LIMIT_BYTES, and refuses a byte more with 413 FILE_TOO_LARGE, uploading nothing', async () => {
    const atLimit = { input: { prompt: 'at the limit', image_urls: [dataUrl(pngOfSize(INLINE_MAX))] } };
    expect(JSON.stringify(atLimit).length).toBeGreaterThan(t.config.BODY_LIMIT_BYTES);
    const exactly = await post(atLimit);
    expect(exactly.statusCode, exactly.body.slice(0, 300)).toBe(202);

    const before = await counts();
    // The first image is fine: it is not uploaded either, since the edit is refused.
    const over = await post({ input: { prompt: 'over', image_urls: [dataUrl(PNG), dataUrl(pngOfSize(INLINE_MAX + 1))] } });
    expect(over.statusCode, over.body).toBe(413);
    expect(over.json()).toMatchObject({
      code: 'FILE_TOO_LARGE',
      message: expect.stringMatching(/^input\.image_urls\.1 is a data URL of 307201 bytes; an inline image may be at most 307200/),
      details: [{ path: 'input.image_urls.1', message: expect.any(String) }],
    });
    expect(await counts()).toEqual(before);
  });

  it.each([
    ['a PNG declared image/jpeg', dataUrl(PNG, 'image/jpeg'), 'declares image/jpeg, but its bytes are image/png'],
    [
      'text declared image/png',
      dataUrl(Buffer.from('just some text, not an image')),
      'declares image/png, but its bytes are not a JPEG, PNG, WebP or GIF image',
    ],
    ['a PNG declared text/plain', dataUrl(PNG, 'text/plain'), 'is a data URL of text/plain'],
    ['a PNG with no type', `data:;base64,${PNG.toString('base64')}`, 'is a data URL of no type (text/plain)'],
  ])('refuses %s with 415 UNSUPPORTED_MEDIA_TYPE naming the field; nothing stored or uploaded', async (_what, url, message) => {
    const before = await counts();
    const res = await post({ input: { prompt: 'lies', image_urls: ['https://example.com/a.png', url] } });
    expect(res.statusCode, res.body).toBe(415);
    expect(res.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', details: [{ path: 'input.image_urls.1', message: expect.stringContaining(message) }] });
    expect(await counts()).toEqual(before);
  });

  it.each([
    ['not base64', 'data:image/png;base64,iVBOR w0KGgo=', 'not valid base64'],
    ['base64 of an impossible length', 'data:image/png;base64,iVBORw0KG', 'not valid base64'],
    ['padded wrongly', 'data:image/png;base64,iVBORw0KGg===', 'not valid base64'],
    ['percent-encoded rather than base64', 'data:image/png,%89PNG%0D%0A', 'only base64 data URLs'],
    ['without a comma', `data:image/png;base64;${'A'.repeat(300)}`, 'must be data:<image type>;base64,'],
  ])('refuses a data URL %s with 400 INVALID_INPUT at its field', async (_what, url, message) => {
    const before = await counts();
    const res = await post({ model: 'openai/gpt-image-1.5/edit-image', input: { prompt: 'p', image_url: url } });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_INPUT', details: [{ path: 'input.image_url', message: expect.stringContaining(message) }] });
    expect(await counts()).toEqual(before);
  });

  it('refuses an empty data URL with 400 FILE_EMPTY', async () => {
    const res = await post({ input: { prompt: 'p', image_urls: ['data:image/png;base64,'] } });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: 'FILE_EMPTY', details: [{ path: 'input.image_urls.0' }] });
  });

  it('is priced by the estimate from its form alone: nothing is uploaded', async () => {
    const before = await counts();
    const res = await post({ input: { prompt: 'p', image_urls: [dataUrl(PNG)] } }, {}, '/v1/edits/estimate');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().estimatedCostMicroCents).toBe(45_000);
    expect(await counts()).toEqual(before);
  });

  it('an Idempotency-Key is judged on the request as sent: its repeat is a replay that uploads nothing, and the upload:<id> it was stored with is another request', async () => {
    const headers = { 'idempotency-key': `inline-${randomUUID()}` };
    const body = { input: { prompt: 'replayed inline', image_urls: [dataUrl(PNG)] } };
    const first = await post(body, headers);
    expect(first.statusCode, first.body).toBe(202);
    const before = await counts();

    const repeat = await post(body, headers);
    expect(repeat.statusCode).toBe(202);
    expect(repeat.headers['idempotent-replayed']).toBe('true');
    expect(repeat.json()).toEqual(first.json());
    expect(await counts()).toEqual(before);

    const asStored = await post({ input: { ...body.input, image_urls: first.json().input.image_urls } }, headers);
    expect(asStored.statusCode).toBe(422);
    expect(asStored.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { editId: first.json().id } });
    const otherImage = await post({ input: { ...body.input, image_urls: [dataUrl(JPEG, 'image/jpeg')] } }, headers);
    expect(otherImage.statusCode).toBe(422);
    expect(await counts()).toEqual(before);
  });

  it('is refused with 503 UPSTREAM_UNAVAILABLE, no edit stored, when PixelByte does not take the upload', async () => {
    const nobody = await startTestRelay(`http://127.0.0.1:${await freePort()}`, { ROLE: 'api' });
    try {
      const res = await nobody.relay.app!.inject({
        method: 'POST',
        url: '/v1/edits',
        headers: nobody.auth,
        payload: { input: { prompt: 'p', image_urls: [dataUrl(PNG)] } },
      });
      expect(res.statusCode, res.body).toBe(503);
      expect(res.json()).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
      expect(await nobody.db.edit.count()).toBe(0);
      expect(await nobody.db.upload.count()).toBe(0);
    } finally {
      await nobody.stop();
    }
  });

  it('is the same upload POST /v1/uploads would make: one sent both ways has one sha256 and type', async () => {
    const direct = await uploadFile(t, JPEG, { type: 'image/jpeg' });
    const inline = await post({ input: { prompt: 'p', image_urls: [dataUrl(JPEG, 'image/jpeg')] } });
    const viaEdit = (await t.relay.app!.inject({ method: 'GET', url: `/v1/uploads/${uploadIdOf(inline.json().input.image_urls[0])}`, headers: t.auth })).json();
    expect({ contentType: viaEdit.contentType, bytes: viaEdit.bytes, sha256: viaEdit.sha256 }).toEqual({
      contentType: direct.body.contentType,
      bytes: direct.body.bytes,
      sha256: direct.body.sha256,
    });
    expect((await fetchEdit(t, inline.json().id)).input.image_urls[0]).toBe(`upload:${viaEdit.id}`);
  });
});

import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEY, PRO, proInput, type Running, startSimulator } from './helpers.js';

const OTHER_KEY = 'pb_other_key';
const MAX = 10_485_760;
// A 1×1 PNG: what a client would really upload.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

let s: Running;
beforeEach(async () => {
  s = await startSimulator({ apiKeys: [KEY, OTHER_KEY] });
});
afterEach(async () => {
  await s.sim.close();
});

interface Presigned {
  uploadUrl: string;
  fileUrl: string;
  fileId: string;
  expiresAt: string;
  maxSize: number;
}

async function presign(body: unknown = { filename: 'photo.png', contentType: 'image/png' }, key: string | null = KEY) {
  return s.api('POST', '/v1/uploads/presign', body, key);
}

async function presigned(contentType = 'image/png', filename = 'photo.png'): Promise<Presigned> {
  const res = await presign({ filename, contentType });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

/** `contentType` null: no Content-Type header at all. */
const put = (url: string, body: Buffer, contentType: string | null = 'image/png') =>
  fetch(url, { method: 'PUT', body, headers: contentType === null ? {} : { 'content-type': contentType } });

async function errorOf(res: Response) {
  return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
}

const status = async (fileId: string, key = KEY) => s.api('GET', `/v1/uploads/${fileId}`, undefined, key);

describe('POST /v1/uploads/presign', () => {
  it('answers wrapped, with a PUT target, the file URL, the id, the PUT deadline (15 minutes) and the 10 MB limit', async () => {
    const before = Date.now();
    const res = await presign();
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, requestId: expect.stringMatching(/^req_/) });
    const data = res.body.data as Presigned;
    expect(data.fileId).toMatch(/^file_[\w-]+$/);
    expect(data.uploadUrl).toContain(`${s.url}/storage/uploads/${data.fileId}?token=`);
    expect(data.fileUrl).toBe(`${s.url}/assets/uploads/${data.fileId}/photo.png`);
    expect(data.maxSize).toBe(MAX);
    const deadline = Date.parse(data.expiresAt) - before;
    expect(deadline).toBeGreaterThanOrEqual(15 * 60_000 - 5);
    expect(deadline).toBeLessThan(15 * 60_000 + 5_000);
  });

  it.each(['image/jpeg', 'image/png', 'image/webp', 'image/gif'])('presigns %s', async (contentType) => {
    expect((await presign({ filename: 'a', contentType })).status).toBe(200);
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['an SVG', 'image/svg+xml'],
    ['an upper-case type', 'IMAGE/PNG'],
    ['a type with parameters', 'image/png; charset=binary'],
  ])('refuses %s with 400 INVALID_CONTENT_TYPE', async (_what, contentType) => {
    const res = await presign({ filename: 'a.png', contentType });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, error: { code: 'INVALID_CONTENT_TYPE' } });
  });

  it.each([
    ['no filename', { contentType: 'image/png' }, 'filename'],
    ['an empty filename', { filename: '', contentType: 'image/png' }, 'filename'],
    ['a filename with a path', { filename: '../etc/passwd', contentType: 'image/png' }, 'filename'],
    ['a filename with a control character', { filename: 'a\u0000.png', contentType: 'image/png' }, 'filename'],
    ['a filename of 256 characters', { filename: 'a'.repeat(256), contentType: 'image/png' }, 'filename'],
    ['no contentType', { filename: 'a.png' }, 'contentType'],
    ['an unknown field', { filename: 'a.png', contentType: 'image/png', size: 10 }, '(body)'],
  ])('refuses %s with 400 VALIDATION_ERROR naming the field', async (_what, body, path) => {
    const res = await presign(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
  });

  it('wants the API key', async () => {
    expect((await presign(undefined, null)).body.error.code).toBe('UNAUTHORIZED');
    expect((await presign(undefined, 'pb_wrong')).status).toBe(401);
  });
});

describe('the PUT to uploadUrl and the file at fileUrl', () => {
  it('stores the bytes, serves them at fileUrl with their type, and the status shows the file’s life (60 minutes)', async () => {
    const p = await presigned();
    expect((await status(p.fileId)).body.data).toMatchObject({ id: p.fileId, status: 'pending', expiresAt: p.expiresAt });
    const before = Date.now();
    const res = await put(p.uploadUrl, PNG);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${createHash('md5').update(PNG).digest('hex')}"`);

    const file = await fetch(p.fileUrl);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await file.arrayBuffer())).toEqual(PNG);

    const after = (await status(p.fileId)).body;
    expect(after).toMatchObject({
      success: true,
      data: { id: p.fileId, filename: 'photo.png', contentType: 'image/png', fileUrl: p.fileUrl, status: 'pending' },
    });
    const life = Date.parse(after.data.expiresAt) - before;
    expect(life).toBeGreaterThanOrEqual(60 * 60_000 - 5);
    expect(life).toBeLessThan(60 * 60_000 + 5_000);
  });

  it('serves a file whose name needs encoding under its encoded name only', async () => {
    const p = await presigned('image/png', 'my photo ü.png');
    expect(p.fileUrl).toBe(`${s.url}/assets/uploads/${p.fileId}/my%20photo%20%C3%BC.png`);
    expect((await put(p.uploadUrl, PNG)).status).toBe(200);
    expect((await fetch(p.fileUrl)).status).toBe(200);
    expect((await fetch(p.fileUrl.replace('photo', 'other'))).status).toBe(404);
  });

  it('takes exactly maxSize bytes, and refuses one more with 413 FILE_TOO_LARGE', async () => {
    const p = await presigned();
    expect(await errorOf(await put(p.uploadUrl, Buffer.alloc(MAX + 1)))).toEqual({ status: 413, code: 'FILE_TOO_LARGE' });
    expect((await fetch(p.fileUrl)).status).toBe(404);
    expect((await put(p.uploadUrl, Buffer.alloc(MAX))).status).toBe(200);
    expect((await fetch(p.fileUrl)).headers.get('content-length')).toBe(String(MAX));
  });

  it('refuses a content type other than the presigned one with 403, as a signed URL does', async () => {
    const p = await presigned('image/png');
    expect(await errorOf(await put(p.uploadUrl, PNG, 'image/jpeg'))).toEqual({ status: 403, code: 'CONTENT_TYPE_MISMATCH' });
    expect(await errorOf(await put(p.uploadUrl, PNG, 'application/json'))).toEqual({ status: 403, code: 'CONTENT_TYPE_MISMATCH' });
    expect(await errorOf(await put(p.uploadUrl, PNG, null))).toEqual({ status: 403, code: 'CONTENT_TYPE_MISMATCH' });
    expect((await fetch(p.fileUrl)).status).toBe(404);
  });

  it('refuses a URL whose token is wrong, and a file id it never presigned', async () => {
    const p = await presigned();
    expect(await errorOf(await put(p.uploadUrl.replace(/token=.*/, 'token=forged'), PNG))).toEqual({ status: 403, code: 'SIGNATURE_MISMATCH' });
    expect(await errorOf(await put(`${s.url}/storage/uploads/file_nope?token=x`, PNG))).toEqual({ status: 403, code: 'SIGNATURE_MISMATCH' });
  });

  it('refuses a PUT after the window (15 minutes; the uploadUrlTtlMs switch shortens it), and the upload reads as expired', async () => {
    s.sim.configure({ uploadUrlTtlMs: 50 });
    const p = await presigned();
    await new Promise((r) => setTimeout(r, 80));
    expect(await errorOf(await put(p.uploadUrl, PNG))).toEqual({ status: 403, code: 'UPLOAD_URL_EXPIRED' });
    expect((await status(p.fileId)).body.data.status).toBe('expired');
    expect((await fetch(p.fileUrl)).status).toBe(404);
  });

  it('deletes the file when its life is over (the uploadLifeMs switch shortens it): fileUrl is 404, the status expired', async () => {
    s.sim.configure({ uploadLifeMs: 100 });
    const p = await presigned();
    expect((await put(p.uploadUrl, PNG)).status).toBe(200);
    expect((await fetch(p.fileUrl)).status).toBe(200);
    await s.sim.waitFor(() => s.sim.uploads.get(p.fileId)?.bytes === null, 2_000);
    expect((await fetch(p.fileUrl)).status).toBe(404);
    expect((await status(p.fileId)).body.data.status).toBe('expired');
  });

  it('takes the windows as options too', async () => {
    await s.sim.close();
    s = await startSimulator({ uploadUrlTtlMs: 1_000, uploadLifeMs: 2_000 });
    const before = Date.now();
    const p = await presigned();
    expect(Date.parse(p.expiresAt) - before).toBeLessThan(1_500);
    expect((await put(p.uploadUrl, PNG)).status).toBe(200);
    expect(Date.parse((await status(p.fileId)).body.data.expiresAt) - before).toBeLessThan(2_500);
  });

  it('shows an upload to the key that presigned it only: another key gets 404 NOT_FOUND', async () => {
    const p = await presigned();
    expect(await status(p.fileId, OTHER_KEY)).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect(await status('file_unknown')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });

  it('forgets uploads on reset', async () => {
    const p = await presigned();
    await put(p.uploadUrl, PNG);
    s.sim.reset();
    expect((await fetch(p.fileUrl)).status).toBe(404);
    expect((await status(p.fileId)).status).toBe(404);
  });
});

describe('a job naming an uploaded file', () => {
  async function uploaded(): Promise<Presigned> {
    const p = await presigned();
    expect((await put(p.uploadUrl, PNG)).status).toBe(200);
    return p;
  }

  const finished = async (jobId: string) => {
    await s.sim.waitFor(() => ['completed', 'failed'].includes(s.sim.jobs.get(jobId)?.status ?? ''));
    return (await s.api('GET', `/v1/jobs/${jobId}`)).body;
  };

  it('completes while the file is there', async () => {
    const p = await uploaded();
    const res = await s.submit({ model: PRO, input: proInput({ image_urls: [p.fileUrl] }) });
    expect(res.status).toBe(200);
    expect(await finished(res.body.jobId)).toMatchObject({ status: 'completed' });
  });

  it('is taken and charged once the file is gone, then fails as a generation failure and is refunded (PixelByte reads images when it runs the job)', async () => {
    s.sim.configure({ uploadLifeMs: 30 });
    const p = await uploaded();
    await s.sim.waitFor(() => s.sim.uploads.get(p.fileId)?.bytes === null, 2_000);
    const res = await s.submit({ model: PRO, input: proInput({ image_urls: ['https://example.com/fine.png', p.fileUrl] }) });
    expect(res.status).toBe(200);
    expect(res.body.costMicroCents).toBe(45_000);
    expect(await finished(res.body.jobId)).toMatchObject({ status: 'failed', error: { code: 'GENERATION_FAILED' }, outputs: [] });
    expect(s.sim.stats()).toMatchObject({ chargedMicroCents: 45_000, refundedMicroCents: 45_000 });
  });

  it('fails the same way for a model that takes one image_url, and for a file URL that was presigned but never PUT', async () => {
    const p = await presigned();
    const res = await s.submit({ model: 'openai/gpt-image-1-mini/edit-image', input: { prompt: 'p', image_url: p.fileUrl } });
    expect(res.status).toBe(200);
    expect(await finished(res.body.jobId)).toMatchObject({ status: 'failed', error: { code: 'GENERATION_FAILED' } });
  });
});

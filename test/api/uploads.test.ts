import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { createClient, TEST_ADMIN_TOKEN } from '../helpers/clients.js';
import { GIF, JPEG, multipartBody, PNG, pngOfSize, uploadFile, WEBP } from '../helpers/images.js';
import { freePort, startRelayWithSimulator, startTestRelay, type TestRelay } from '../helpers/relay.js';

const MAX = 10 * 1024 * 1024;

let t: TestRelay;
let sim: Simulator;
let stop: () => Promise<void>;

beforeAll(async () => {
  // API only: uploads need no worker.
  ({ t, sim, stop } = await startRelayWithSimulator({ ROLE: 'api', ADMIN_TOKEN: TEST_ADMIN_TOKEN }));
});
afterAll(() => stop?.());

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const uploadCount = () => t.db.upload.count();
const presigns = () => sim.calls.filter((c) => c.path === '/v1/uploads/presign').length;

/** POST /v1/uploads with the image itself as the body, over real HTTP. */
async function uploadRaw(body: Buffer, type: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.relay.url}/v1/uploads`, { method: 'POST', headers: { ...t.auth, 'content-type': type, ...headers }, body });
  return { status: res.status, body: (await res.json()) as any };
}

describe('POST /v1/uploads', () => {
  it('takes a multipart file, puts it on PixelByte’s storage and answers 201 with the upload', async () => {
    const before = Date.now();
    const res = await uploadFile(t, PNG, { filename: 'my holiday (1).png' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const upload = res.body;
    expect(upload).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      fileUrl: expect.stringContaining(`/assets/uploads/`),
      contentType: 'image/png',
      bytes: PNG.length,
      sha256: sha256(PNG),
      expiresAt: expect.any(String),
      createdAt: expect.any(String),
    });
    expect(res.headers.get('location')).toBe(`/v1/uploads/${upload.id}`);
    // PixelByte deletes it 60 minutes after the upload: the relay says so, erring early.
    expect(Date.parse(upload.expiresAt) - before).toBeGreaterThanOrEqual(60 * 60_000);
    const row = await t.db.upload.findUniqueOrThrow({ where: { id: upload.id } });
    expect(Date.parse(upload.expiresAt)).toBeLessThanOrEqual(sim.uploads.get(row.pixelbyteFileId)!.deletesAt!.getTime());

    // PixelByte was given our name for it and the sniffed type, and has exactly these bytes at the file URL.
    const presign = sim.calls.findLast((c) => c.path === '/v1/uploads/presign')!;
    expect(presign.body).toEqual({ filename: `${upload.id}.png`, contentType: 'image/png' });
    const file = await fetch(upload.fileUrl);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await file.arrayBuffer())).toEqual(PNG);

    expect(row).toMatchObject({ clientId: t.clientId, fileUrl: upload.fileUrl, contentType: 'image/png', bytes: PNG.length, sha256: sha256(PNG) });
    expect(row.pixelbyteFileId).toBe(sim.uploads.get(row.pixelbyteFileId)?.fileId);
  });

  it.each([
    ['JPEG', JPEG, 'image/jpeg'],
    ['PNG', PNG, 'image/png'],
    ['WebP', WEBP, 'image/webp'],
    ['GIF', GIF, 'image/gif'],
  ])('takes a %s sent as the body itself, its type read from the bytes', async (_name, bytes, type) => {
    const res = await uploadRaw(bytes, type);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ contentType: type, bytes: bytes.length, sha256: sha256(bytes) });
    expect(Buffer.from(await (await fetch(res.body.fileUrl)).arrayBuffer())).toEqual(bytes);
  });

  it('reads the type from the bytes: a part sent as application/octet-stream is what its bytes say', async () => {
    const res = await uploadFile(t, GIF, { type: 'application/octet-stream', filename: 'no-extension' });
    expect(res.status).toBe(201);
    expect(res.body.contentType).toBe('image/gif');
  });

  it('reads the type from the bytes of a part that names no type (busboy calls it text/plain), and ignores a filename it cannot use', async () => {
    const { payload, contentType } = multipartBody([{ name: 'file', filename: '../../etc/passwd\u00e9.png', body: PNG }]);
    const res = await t.relay.app!.inject({ method: 'POST', url: '/v1/uploads', headers: { ...t.auth, 'content-type': contentType }, payload });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ contentType: 'image/png', bytes: PNG.length });
    const presign = sim.calls.findLast((c) => c.path === '/v1/uploads/presign')!;
    expect(presign.body).toEqual({ filename: `${res.json().id}.png`, contentType: 'image/png' });
  });

  it('takes a file of exactly 10 MiB (UPLOAD_MAX_BYTES by default), and refuses one byte more with 413 FILE_TOO_LARGE, whole or truncated', async () => {
    const exactly = await uploadFile(t, pngOfSize(MAX));
    expect(exactly.status, JSON.stringify(exactly.body)).toBe(201);
    expect(exactly.body.bytes).toBe(MAX);
    expect(sim.uploads.get((await t.db.upload.findUniqueOrThrow({ where: { id: exactly.body.id } })).pixelbyteFileId)?.bytes?.length).toBe(MAX);

    const [rows, asked] = [await uploadCount(), presigns()];
    const overMultipart = await uploadFile(t, pngOfSize(MAX + 1));
    expect(overMultipart).toMatchObject({ status: 413, body: { code: 'FILE_TOO_LARGE', details: { maxBytes: MAX } } });
    const overRaw = await uploadRaw(pngOfSize(MAX + 1), 'image/png');
    expect(overRaw).toMatchObject({ status: 413, body: { code: 'FILE_TOO_LARGE' } });
    expect([await uploadCount(), presigns()]).toEqual([rows, asked]);
  });

  it('refuses a body sent without a length (chunked) once it passes the limit, reading no further', async () => {
    const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const port = Number(new URL(t.relay.url!).port);
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/uploads', headers: { ...t.auth, 'content-type': 'image/png' } }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      let answered = false;
      // Once answered, the server closes the connection: writing on into it fails, which says nothing here.
      req.on('error', (err) => answered || reject(err));
      req.on('response', () => {
        answered = true;
      });
      // 11 MiB in 64 KiB chunks, as a client streaming from disk sends it; the answer may come before the end.
      const chunk = pngOfSize(64 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 11 * 1024 * 1024 && !answered) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(status.status).toBe(413);
    expect(JSON.parse(status.body)).toMatchObject({ code: 'FILE_TOO_LARGE' });
  });

  it('refuses a multipart body whose file part is cut short (no closing boundary) with 400 INVALID_MULTIPART: never as a whole file', async () => {
    const { payload, contentType } = multipartBody([{ name: 'file', filename: 'a.png', type: 'image/png', body: PNG }]);
    const cut = payload.subarray(0, payload.length - 40);
    const rows = await uploadCount();
    const res = await t.relay.app!.inject({ method: 'POST', url: '/v1/uploads', headers: { ...t.auth, 'content-type': contentType }, payload: cut });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_MULTIPART' });
    expect(await uploadCount()).toBe(rows);
  });

  it('answers 503 UPSTREAM_UNAVAILABLE, storing nothing, when PixelByte cannot be reached', async () => {
    const nobody = await startTestRelay(`http://127.0.0.1:${await freePort()}`, { ROLE: 'api' });
    try {
      const res = await uploadFile(nobody, PNG);
      expect(res).toMatchObject({ status: 503, body: { code: 'UPSTREAM_UNAVAILABLE' } });
      expect(res.headers.get('retry-after')).toBe('5');
      expect(await nobody.db.upload.count()).toBe(0);
    } finally {
      await nobody.stop();
    }
  });

  it('answers 503 UPSTREAM_UNAVAILABLE, storing nothing, when the PUT is refused (its window closed before it came)', async () => {
    sim.configure({ uploadUrlTtlMs: 0 });
    try {
      const rows = await uploadCount();
      const res = await uploadFile(t, PNG);
      expect(res).toMatchObject({ status: 503, body: { code: 'UPSTREAM_UNAVAILABLE' } });
      expect(await uploadCount()).toBe(rows);
      const put = sim.calls.findLast((c) => c.method === 'PUT')!;
      expect(put.statusCode).toBe(403);
    } finally {
      sim.configure({ uploadUrlTtlMs: undefined });
    }
  });
});

describe('GET /v1/uploads/{id}', () => {
  it('answers the upload to the client that made it, and 404 UPLOAD_NOT_FOUND to any other', async () => {
    const made = (await uploadFile(t, PNG)).body;
    const mine = await t.relay.app!.inject({ method: 'GET', url: `/v1/uploads/${made.id}`, headers: t.auth });
    expect(mine.statusCode).toBe(200);
    expect(mine.json()).toEqual(made);

    const other = await createClient(t);
    const theirs = await t.relay.app!.inject({ method: 'GET', url: `/v1/uploads/${made.id}`, headers: other.auth });
    expect(theirs.statusCode).toBe(404);
    expect(theirs.json()).toMatchObject({ code: 'UPLOAD_NOT_FOUND' });
    // Their own upload is theirs alone.
    const their = await uploadFile(t, JPEG, { type: 'image/jpeg', auth: other.auth });
    expect(their.status).toBe(201);
    expect((await t.relay.app!.inject({ method: 'GET', url: `/v1/uploads/${their.body.id}`, headers: t.auth })).statusCode).toBe(404);
  });

  it.each([['not-a-uuid'], ['00000000-0000-4000-8000-000000000000']])('answers 404 UPLOAD_NOT_FOUND for %s', async (id) => {
    const res = await t.relay.app!.inject({ method: 'GET', url: `/v1/uploads/${id}`, headers: t.auth });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'UPLOAD_NOT_FOUND' });
  });

  it('wants the bearer token, like every /v1 route', async () => {
    const res = await t.relay.app!.inject({ method: 'GET', url: '/v1/uploads/00000000-0000-4000-8000-000000000000' });
    expect(res.statusCode).toBe(401);
  });
});

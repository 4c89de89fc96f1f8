import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorError, OutputCopier } from '../../src/engine/mirror/copyOutput.js';
import { Bucket } from '../../src/storage/bucket.js';
import { type LocalS3Server, S3RVER_CREDENTIALS, startLocalS3 } from '../../testkit/s3Server.js';
import { PNG } from '../helpers/images.js';

// The copier against a real S3 server and a real HTTP origin standing in for a CDN: what it stores, and each way a
// download can fail (an origin of several answers: a chunked body of unknown length, a lie about the length, text).

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const image = Buffer.concat([PNG.subarray(0, 33), randomBytes(3 * 1024 * 1024)]);

let s3: LocalS3Server;
let bucket: Bucket;
let origin: Server;
let base: string;

beforeAll(async () => {
  s3 = await startLocalS3({ bucket: 'copier-test' });
  bucket = new Bucket({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: 'us-east-1',
    credentials: S3RVER_CREDENTIALS,
    forcePathStyle: true,
    prefix: 'p/',
    urlTtlSeconds: 60,
  });
  origin = createServer((req, res) => {
    if (req.url === '/chunked.png') {
      // No Content-Length: the size is only known at the end.
      res.writeHead(200, { 'content-type': 'image/png' });
      for (let i = 0; i < image.length; i += 64 * 1024) res.write(image.subarray(i, i + 64 * 1024));
      res.end();
    } else if (req.url === '/short.png') {
      res.writeHead(200, { 'content-length': String(image.length) });
      res.end(image.subarray(0, 1000));
      res.socket?.destroy();
    } else if (req.url === '/text') {
      res.end('not an image at all, but kept all the same');
    } else if (req.url === '/redirect') {
      res.writeHead(302, { location: '/chunked.png' }).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
});
afterAll(async () => {
  bucket?.close();
  await new Promise((resolve) => origin?.close(resolve));
  await s3?.close();
});

const copier = (options: { allowPrivate?: boolean; maxBytes?: number } = {}) =>
  new OutputCopier({ bucket, allowPrivate: options.allowPrivate ?? true, maxBytes: options.maxBytes ?? 64 * 1024 * 1024, timeoutMs: 10_000 });
const target = (path: string, index = 0) => ({ clientId: 'client', editId: 'edit', index, url: `${base}${path}` });

async function failure(promise: Promise<unknown>): Promise<MirrorError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MirrorError);
  return err as MirrorError;
}

describe('the output copier', () => {
  it('streams a body of unknown length into the bucket, typed from its bytes, its hash and size counted on the way; redirects followed', async () => {
    const c = copier();
    const stored = await c.copy(target('/redirect', 3));
    await c.close();
    expect(stored).toMatchObject({ key: 'p/client/edit/3.png', bytes: image.length, sha256: sha256(image), contentType: 'image/png' });
    const copy = Buffer.from(await (await fetch(await bucket.presignGet(stored.key))).arrayBuffer());
    expect(sha256(copy)).toBe(sha256(image));
  });

  it('keeps bytes that are no image type it knows as application/octet-stream', async () => {
    const stored = await copier().copy(target('/text'));
    expect(stored).toMatchObject({ key: 'p/client/edit/0.bin', contentType: 'application/octet-stream' });
  });

  it('refuses a loopback URL without OUTPUT_FETCH_ALLOW_PRIVATE, for good', async () => {
    const err = await failure(copier({ allowPrivate: false }).copy(target('/chunked.png')));
    expect(err).toMatchObject({ code: 'OUTPUT_URL_REFUSED', permanent: true });
  });

  it('gives up on an output over OUTPUT_MAX_BYTES at once, whether its length is declared or not', async () => {
    const declared = await failure(copier({ maxBytes: 1_000 }).copy(target('/short.png')));
    expect(declared).toMatchObject({ code: 'OUTPUT_TOO_LARGE', permanent: true });
    const counted = await failure(copier({ maxBytes: 1024 * 1024 }).copy(target('/chunked.png')));
    expect(counted).toMatchObject({ code: 'OUTPUT_TOO_LARGE', permanent: true });
  });

  it('says OUTPUT_GONE for a 404 and OUTPUT_FETCH_FAILED for a body cut short, both worth another try', async () => {
    expect(await failure(copier().copy(target('/gone.png')))).toMatchObject({ code: 'OUTPUT_GONE', permanent: false });
    expect(await failure(copier().copy(target('/short.png')))).toMatchObject({ code: 'OUTPUT_FETCH_FAILED', permanent: false });
  });
});

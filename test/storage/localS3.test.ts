import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalS3Server, S3RVER_CREDENTIALS, startLocalS3 } from '../../testkit/s3Server.js';

// The S3-compatible server the mirror tests store into: a real server on a loopback port, spoken to with the SDK the
// relay uses, with the checksum settings the relay uses (no CRC trailers, which stores other than S3 refuse).

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('the local S3 server (testkit)', () => {
  let s3: LocalS3Server;
  let client: S3Client;
  beforeAll(async () => {
    s3 = await startLocalS3({ bucket: 'local-s3-test' });
    client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.close();
  });

  it('takes a streamed multipart upload and serves it back, byte for byte, through a presigned GET', async () => {
    // 12 MiB + 5 bytes: three parts of lib-storage's 5 MiB.
    const data = randomBytes(12 * 1024 * 1024 + 5);
    const chunks = Array.from({ length: Math.ceil(data.length / 65_536) }, (_, i) => data.subarray(i * 65_536, (i + 1) * 65_536));
    const key = 'clients/a/edit/0.png';
    await new Upload({ client, params: { Bucket: s3.bucket, Key: key, Body: Readable.from(chunks), ContentType: 'image/png' } }).done();

    const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    expect(head).toMatchObject({ ContentLength: data.length, ContentType: 'image/png' });
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: s3.bucket, Key: key }), { expiresIn: 60 });
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(sha256(data));
  });

  it('refuses a presigned URL past its life, and one whose key it does not know (it does not check SigV4 signatures)', async () => {
    await new Upload({ client, params: { Bucket: s3.bucket, Key: 'small', Body: Buffer.from('hello') } }).done();
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: s3.bucket, Key: 'small' }), { expiresIn: 1 });
    expect((await fetch(url)).status).toBe(200);
    const stranger = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'x' },
    });
    const foreign = await getSignedUrl(stranger, new GetObjectCommand({ Bucket: s3.bucket, Key: 'small' }), { expiresIn: 60 });
    stranger.destroy();
    expect((await fetch(foreign)).status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect((await fetch(url)).status).toBe(403);
  });
});

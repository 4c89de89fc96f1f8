import type { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

/** Where, and as whom, pixelrelay keeps its copies: the STORAGE_S3_* settings. */
export interface BucketSettings {
  bucket: string;
  /** Unset: AWS S3 itself. */
  endpoint?: string;
  /** The endpoint presigned GETs name, when clients reach the store elsewhere than pixelrelay does. */
  publicEndpoint?: string;
  region: string;
  /** Unset: the SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle: boolean;
  /** Put before every key, as given. */
  prefix: string;
  /** The life of a presigned GET (seconds). */
  urlTtlSeconds: number;
}

// lib-storage's smallest part (S3's minimum but for the last): a stream is held in memory one part per upload in
// flight, so these bound what storing one object costs however large it is.
const PART_BYTES = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;

/**
 * The user's S3-compatible bucket, as the mirror and the uploads use it: objects streamed in (lib-storage's Upload,
 * multipart past one part), read back, and handed out as presigned GETs. The SDK's default checksums (CRC32 trailers
 * on every PUT and a validation of every GET) are refused by R2, MinIO's older releases and most other S3-compatible
 * stores, so they are used only where an operation requires one.
 */
export class Bucket {
  private readonly client: S3Client;
  /** Signs presigned GETs for the public endpoint (signing sends nothing: it only needs the host clients will use). */
  private readonly signer: S3Client;

  constructor(readonly settings: BucketSettings) {
    const clientOf = (endpoint: string | undefined) =>
      new S3Client({
        region: settings.region,
        ...(endpoint ? { endpoint } : {}),
        ...(settings.credentials ? { credentials: settings.credentials } : {}),
        forcePathStyle: settings.forcePathStyle,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        // The mirror retries on its own schedule, with a deadline; the SDK's three tries each would hide an outage.
        maxAttempts: 2,
      });
    this.client = clientOf(settings.endpoint);
    this.signer = settings.publicEndpoint && settings.publicEndpoint !== settings.endpoint ? clientOf(settings.publicEndpoint) : this.client;
  }

  /** `{prefix}a/b/c`: a key under this deployment's prefix. */
  keyOf(...parts: string[]): string {
    return `${this.settings.prefix}${parts.join('/')}`;
  }

  /**
   * Stores `body` at `key`, overwriting what is there (a retried store of the same output writes the same key).
   * Resolves once the object is complete; a failure or `signal` aborts the upload (a multipart one is taken back).
   */
  async put(key: string, body: Readable | Buffer, contentType: string, signal?: AbortSignal): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.settings.bucket, Key: key, Body: body, ContentType: contentType },
      partSize: PART_BYTES,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    const abort = () => void upload.abort().catch(() => {});
    if (signal?.aborted) abort();
    signal?.addEventListener('abort', abort, { once: true });
    try {
      await upload.done();
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /** The object's bytes as a stream, and its length. */
  async get(key: string, signal?: AbortSignal): Promise<{ body: Readable; bytes: number | undefined }> {
    const answer = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }), { abortSignal: signal });
    return { body: answer.Body as Readable, bytes: answer.ContentLength };
  }

  /** A GET anyone may use until it expires (settings.urlTtlSeconds): signed here, with no request to the store. */
  presignGet(key: string): Promise<string> {
    return getSignedUrl(this.signer, new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }), { expiresIn: this.settings.urlTtlSeconds });
  }

  close(): void {
    this.client.destroy();
    if (this.signer !== this.client) this.signer.destroy();
  }
}

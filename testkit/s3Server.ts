import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/** The one access key s3rver knows (its documented pair). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface LocalS3Server {
  /** `http://127.0.0.1:<port>`: what STORAGE_S3_ENDPOINT names. */
  endpoint: string;
  port: number;
  bucket: string;
  /** Where the server keeps its objects (a temporary folder of its own, removed by `close`). */
  directory: string;
  /** The relay's STORAGE_S3_* settings for this server (path-style, its credentials, the bucket). */
  env(overrides?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

export interface LocalS3Options {
  bucket?: string;
  /** 0 (the default): a free port. */
  port?: number;
  /** Keep the objects here (not removed on close); a fresh temporary folder when absent. */
  directory?: string;
}

/**
 * A real S3-compatible server (s3rver, in this process) on a loopback port, with one bucket made at start: what the
 * tests, the soak and `npm run dev` mirror outputs into. It knows only the access key of S3RVER_CREDENTIALS and
 * refuses a presigned URL past its life, but does not check SigV4 signatures themselves (s3rver never implemented
 * that). It keeps objects on disk, so a stored image costs no memory here.
 */
export async function startLocalS3(options: LocalS3Options = {}): Promise<LocalS3Server> {
  const bucket = options.bucket ?? 'pixelrelay-test';
  const owned = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'pixelrelay-s3-')));
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory,
    // Path-style only: a bucket is never a subdomain of 127.0.0.1.
    vhostBuckets: false,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    bucket,
    directory,
    env: (overrides = {}) => ({
      STORAGE_S3_BUCKET: bucket,
      STORAGE_S3_ENDPOINT: endpoint,
      STORAGE_S3_REGION: 'us-east-1',
      STORAGE_S3_FORCE_PATH_STYLE: 'true',
      STORAGE_S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      STORAGE_S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      ...overrides,
    }),
    close: async () => {
      await server.close().catch(() => {});
      if (owned) await rm(directory, { recursive: true, force: true });
    },
  };
}

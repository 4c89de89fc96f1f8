import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import type { Bucket } from '../../storage/bucket.js';
import { checkCallbackUrl, pinnedLookup, type Resolve } from '../callbacks/urlSafety.js';
import { SNIFF_BYTES, sniffImageType } from '../uploads/imageType.js';

/** Why an output could not be stored; shown on the output as `mirror.error.code` once the edit gives up on it. */
export type MirrorErrorCode =
  /** The output URL is one pixelrelay must not fetch (OUTPUT_FETCH_ALLOW_PRIVATE off): never retried. */
  | 'OUTPUT_URL_REFUSED'
  /** PixelByte's CDN answered that it has no such file (404, 410): it may have forgotten it already. */
  | 'OUTPUT_GONE'
  /** The download failed: a network error, another HTTP status, a body cut short, an empty file. */
  | 'OUTPUT_FETCH_FAILED'
  /** Larger than OUTPUT_MAX_BYTES: never retried. */
  | 'OUTPUT_TOO_LARGE'
  /** The bucket did not take the object. */
  | 'STORE_FAILED'
  /** The download and store took longer than OUTPUT_FETCH_TIMEOUT_MS. */
  | 'MIRROR_TIMEOUT'
  /** The edit was left `storing` by a deployment that had a bucket, and this one has none: never retried. */
  | 'STORAGE_NOT_CONFIGURED';

export class MirrorError extends Error {
  override name = 'MirrorError';
  constructor(
    readonly code: MirrorErrorCode,
    message: string,
    /** A later try would meet the same answer: the output is given up at once. */
    readonly permanent = false,
  ) {
    super(message);
  }
}

/** One output's copy in the bucket, as `outputs[n].mirror` records it. */
export interface StoredOutput {
  key: string;
  bytes: number;
  /** Lowercase hex SHA-256 of the bytes stored, computed as they went through. */
  sha256: string;
  contentType: string;
  storedAt: string;
}

export interface OutputCopierOptions {
  bucket: Bucket;
  /** OUTPUT_FETCH_ALLOW_PRIVATE: loopback and private addresses, and plain http, are allowed. */
  allowPrivate: boolean;
  maxBytes: number;
  /** The whole of one output: connecting, downloading, storing. */
  timeoutMs: number;
  /** DNS as the callbacks resolve it (c-ares, cancellable); tests give their own. */
  resolve?: Resolve;
}

export interface OutputTarget {
  clientId: string;
  editId: string;
  index: number;
  url: string;
}

const MAX_REDIRECTS = 3;
const IDLE_CONNECTION_MS = 4_000;
const EXTENSIONS: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif' };
const UNKNOWN_TYPE = 'application/octet-stream';

/**
 * Copies PixelByte's outputs into the user's bucket, each streamed from its URL straight into the bucket (never
 * whole in memory: lib-storage holds a part or two), its type read from its first bytes, its SHA-256 and size
 * counted on the way, and cut off past `maxBytes`. Keys are `{prefix}{clientId}/{editId}/{n}.{ext}`, the same on
 * every try, so a retry overwrites instead of duplicating. The URL is judged like a callback URL, and the download
 * connects only to the addresses that were checked (no DNS rebinding); redirects are followed, each judged again.
 */
export class OutputCopier {
  /** For unpinned downloads (OUTPUT_FETCH_ALLOW_PRIVATE): any address, so one pool serves them all. */
  private readonly openAgent = new Agent({ keepAliveTimeout: IDLE_CONNECTION_MS, keepAliveMaxTimeout: IDLE_CONNECTION_MS });

  constructor(private readonly options: OutputCopierOptions) {}

  async copy(target: OutputTarget): Promise<StoredOutput> {
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    try {
      return await this.copyWithin(target, signal);
    } catch (err) {
      if (signal.aborted && !(err instanceof MirrorError && err.permanent)) {
        throw new MirrorError('MIRROR_TIMEOUT', `output ${target.index} was not stored within ${this.options.timeoutMs} ms`);
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.openAgent.close();
  }

  private async copyWithin(target: OutputTarget, signal: AbortSignal): Promise<StoredOutput> {
    const { body, declaredBytes, release } = await this.open(target.url, signal);
    const hash = createHash('sha256');
    let bytes = 0;
    const metered = new PassThrough();
    // Its failure is read from `put`; a stream destroyed with an error nobody listens for would end the process.
    metered.on('error', () => {});
    try {
      if (declaredBytes !== undefined && declaredBytes > this.options.maxBytes) {
        throw new MirrorError(
          'OUTPUT_TOO_LARGE',
          `output ${target.index} is ${declaredBytes} bytes, more than OUTPUT_MAX_BYTES (${this.options.maxBytes})`,
          true,
        );
      }
      const chunks = body[Symbol.asyncIterator]();
      const source = {
        next: async () => {
          try {
            return await chunks.next();
          } catch (err) {
            throw new MirrorError('OUTPUT_FETCH_FAILED', `the download of output ${target.index} broke off after ${bytes} bytes: ${describe(err)}`);
          }
        },
      };
      // The first bytes name the type, and the type the key's extension: read them before the store begins.
      const head: Buffer[] = [];
      let headBytes = 0;
      while (headBytes < SNIFF_BYTES) {
        const next = await source.next();
        if (next.done) break;
        const chunk = next.value as Buffer;
        head.push(chunk);
        headBytes += chunk.length;
      }
      if (headBytes === 0) throw new MirrorError('OUTPUT_FETCH_FAILED', `output ${target.index} is empty`);
      const contentType = sniffImageType(Buffer.concat(head).subarray(0, SNIFF_BYTES)) ?? UNKNOWN_TYPE;
      const key = this.options.bucket.keyOf(target.clientId, target.editId, `${target.index}.${EXTENSIONS[contentType] ?? 'bin'}`);

      // Counted and hashed between the download and the store; the store reads as fast as the bucket takes it.
      let failure: unknown;
      const feed = (async () => {
        try {
          const pass = async (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes > this.options.maxBytes) {
              throw new MirrorError('OUTPUT_TOO_LARGE', `output ${target.index} is more than OUTPUT_MAX_BYTES (${this.options.maxBytes}) bytes`, true);
            }
            hash.update(chunk);
            if (metered.destroyed) throw new MirrorError('STORE_FAILED', 'the bucket stopped reading the output');
            if (!metered.write(chunk)) await waitForDrain(metered, signal);
          };
          for (const chunk of head) await pass(chunk);
          for (let next = await source.next(); !next.done; next = await source.next()) await pass(next.value as Buffer);
          if (declaredBytes !== undefined && bytes !== declaredBytes) {
            throw new MirrorError('OUTPUT_FETCH_FAILED', `output ${target.index} was cut short: ${bytes} of ${declaredBytes} bytes`);
          }
          metered.end();
        } catch (err) {
          failure = err;
          metered.destroy(err instanceof Error ? err : new Error(String(err)));
        }
      })();
      try {
        await this.options.bucket.put(key, metered, contentType, signal);
      } catch (err) {
        // The download stops feeding a store that failed (lib-storage may leave its body unread).
        metered.destroy();
        await feed;
        // The download's own failure says more than the store's "the body stream failed".
        if (failure instanceof MirrorError && failure.code !== 'STORE_FAILED') throw failure;
        throw new MirrorError('STORE_FAILED', `the bucket did not take output ${target.index}: ${describe(err)}`);
      }
      await feed;
      if (failure !== undefined) throw failure;
      return { key, bytes, sha256: hash.digest('hex'), contentType, storedAt: new Date().toISOString() };
    } finally {
      metered.destroy();
      body.destroy();
      await release();
    }
  }

  /** The output's response body, after the URL (and each redirect's) passed the policy. */
  private async open(raw: string, signal: AbortSignal): Promise<{ body: Readable; declaredBytes?: number; release: () => Promise<void> }> {
    let url = raw;
    for (let redirects = 0; ; redirects++) {
      const check = await checkCallbackUrl(url, { allowHttp: this.options.allowPrivate, allowPrivate: this.options.allowPrivate }, this.options.resolve);
      if (check.kind === 'refused') throw new MirrorError('OUTPUT_URL_REFUSED', `the output URL ${check.reason} (OUTPUT_FETCH_ALLOW_PRIVATE is off)`, true);
      if (check.kind === 'unresolved') throw new MirrorError('OUTPUT_FETCH_FAILED', `the output URL's ${check.reason}`);
      // Pinned to the checked addresses: an agent of its own, closed with the download.
      const pinned = check.addresses ? new Agent({ connect: { lookup: pinnedLookup(check.addresses) } }) : undefined;
      const dispatcher: Dispatcher = pinned ?? this.openAgent;
      const release = async () => {
        await pinned?.close().catch(() => {});
      };
      let answer: Dispatcher.ResponseData;
      try {
        answer = await dispatcher.request({
          origin: check.url.origin,
          path: `${check.url.pathname}${check.url.search}`,
          method: 'GET',
          headers: { 'user-agent': 'pixelrelay-mirror/1', accept: 'image/*' },
          signal,
        });
      } catch (err) {
        await release();
        throw new MirrorError('OUTPUT_FETCH_FAILED', `GET ${check.url.origin}${check.url.pathname} failed: ${describe(err)}`);
      }
      // Destroying a body not read to its end emits an AbortError; unheard, it would end the process.
      answer.body.on('error', () => {});
      const { statusCode, headers } = answer;
      if (statusCode >= 300 && statusCode < 400 && typeof headers.location === 'string' && redirects < MAX_REDIRECTS) {
        await answer.body.dump().catch(() => {});
        await release();
        url = new URL(headers.location, check.url).toString();
        continue;
      }
      if (statusCode !== 200) {
        await answer.body.dump().catch(() => {});
        await release();
        const gone = statusCode === 404 || statusCode === 410;
        throw new MirrorError(gone ? 'OUTPUT_GONE' : 'OUTPUT_FETCH_FAILED', `GET ${check.url.origin}${check.url.pathname} answered HTTP ${statusCode}`);
      }
      const length = Number(headers['content-length']);
      return { body: answer.body, declaredBytes: Number.isSafeInteger(length) && length >= 0 ? length : undefined, release };
    }
  }
}

function waitForDrain(stream: PassThrough, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      signal.removeEventListener('abort', done);
      if (signal.aborted) reject(signal.reason);
      else resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `${code}: ${err.message}` : err.message || err.name;
  }
  return String(err);
}

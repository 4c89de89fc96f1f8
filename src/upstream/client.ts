import { type Dispatcher, Pool } from 'undici';
import type { z } from 'zod';
import { jsonOrUndefined } from '../shared/json.js';
import { classifyHttpError, classifyNetworkError, UpstreamError } from './errors.js';
import {
  cancelResponse,
  errorResponse,
  type JobList,
  jobListResponse,
  jobResponse,
  type PresignResponse,
  presignResponse,
  type SubmitResponse,
  submitResponse,
  type UpstreamJob,
  unwrap,
} from './schemas.js';
import { FileUploader, type HeldFile } from './uploader.js';

export interface PixelByteClientOptions {
  baseUrl: string;
  apiKey: string;
  /** Bounds the whole call: connecting, sending, the headers and reading the whole body. */
  timeoutMs: number;
  /** Where requests go; by default a keep-alive pool of connections to `baseUrl`'s origin (tests pass their own). */
  dispatcher?: Dispatcher;
  /** Where uploads' PUTs go (PixelByte's storage, another origin); by default an agent of the uploader's own. */
  uploadDispatcher?: Dispatcher;
}

export interface PresignUploadRequest {
  filename: string;
  contentType: string;
}

export interface ListJobsQuery {
  limit?: number;
  cursor?: string;
  status?: string;
  modelId?: string;
}

export interface SubmitJobRequest {
  model: string;
  input: unknown;
  webhookUrl?: string;
}

/**
 * Idle connections to PixelByte close after this: below the idle timeouts servers and load balancers commonly use
 * (Node's own 5 s, nginx's 75 s, an AWS ALB's 60 s), so we seldom write a request to a connection the other side is
 * just closing. Such a request fails as `unknown` (it may have been read) and goes through the submit fence, never
 * resent blindly; keeping the idle time short keeps that rare. A server's `Keep-Alive: timeout=N` hint can only
 * shorten it (undici then waits N less its 2 s threshold).
 */
const IDLE_CONNECTION_MS = 4_000;

/**
 * PixelByte's job API over real HTTP. Every failure comes back as an UpstreamError that says whether a
 * retry is safe (the table of answers is in errors.ts).
 *
 * Requests go through undici's dispatcher API rather than `fetch`: fetch's WHATWG layer (Request, Headers, web
 * streams) cost the worker a noticeable share of its CPU per edit. The Exchange handler below buffers the answer
 * itself, and it sees the moment undici hands the request to a connection, so a failure before it is `not_sent`
 * for certain (see errors.ts).
 */
export class PixelByteClient {
  private readonly origin: string;
  private readonly pathPrefix: string;
  private readonly badUrl: unknown;
  private readonly dispatcher: Dispatcher;
  // What fetch sent, less its browser leftovers (accept-language, sec-fetch-mode) and accept-encoding (nobody here
  // decompresses; PixelByte's answers are small JSON). user-agent stays what Node's fetch sent, so PixelByte and
  // anything in front of it see the same client as before.
  private readonly headers: Record<string, string>;
  private readonly headersWithBody: Record<string, string>;
  private readonly uploader: FileUploader;

  constructor(private readonly options: PixelByteClientOptions) {
    let url: URL | undefined;
    try {
      url = new URL(options.baseUrl);
    } catch (err) {
      this.badUrl = err; // every call fails as not_sent, as fetch's did
    }
    this.origin = url?.origin ?? 'http://invalid';
    this.pathPrefix = url ? url.pathname.replace(/\/+$/, '') : '';
    this.dispatcher =
      options.dispatcher ??
      new Pool(this.origin, {
        keepAliveTimeout: IDLE_CONNECTION_MS,
        keepAliveMaxTimeout: IDLE_CONNECTION_MS,
        // Backstops only: the call's own deadline (timeoutMs, in Exchange) is the one that bounds it.
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
    this.headers = { authorization: `Bearer ${options.apiKey}`, accept: 'application/json', 'user-agent': 'node' };
    this.headersWithBody = { ...this.headers, 'content-type': 'application/json' };
    this.uploader = new FileUploader({ timeoutMs: options.timeoutMs, dispatcher: options.uploadDispatcher });
  }

  submitJob(request: SubmitJobRequest): Promise<SubmitResponse> {
    return this.call('POST', '/v1/jobs/submit', submitResponse, request);
  }

  getJob(jobId: string): Promise<UpstreamJob> {
    return this.call('GET', `/v1/jobs/${encodeURIComponent(jobId)}`, jobResponse);
  }

  /** One page of the account's jobs (PixelByte caps `limit` at 100). */
  listJobs(query: ListJobsQuery = {}): Promise<JobList> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const search = params.toString();
    return this.call('GET', search ? `/v1/jobs?${search}` : '/v1/jobs', jobListResponse);
  }

  cancelJob(jobId: string) {
    return this.call('POST', `/v1/jobs/${encodeURIComponent(jobId)}/cancel`, cancelResponse);
  }

  /** Where to PUT a file, and the URL PixelByte will serve it at (for 60 minutes after the PUT). */
  presignUpload(request: PresignUploadRequest): Promise<PresignResponse> {
    return this.call('POST', '/v1/uploads/presign', presignResponse, request);
  }

  /** PUTs a presigned file to PixelByte's storage. */
  putUpload(uploadUrl: string, file: HeldFile): Promise<void> {
    return this.uploader.put(uploadUrl, file);
  }

  /** Closes the connections this client made (a dispatcher passed in is its owner's to close). */
  async close(): Promise<void> {
    await this.uploader.close();
    if (!this.options.dispatcher) await this.dispatcher.close();
  }

  private async call<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const what = `${method} ${path}`;
    const answer = await this.exchange(what, method, path, body === undefined ? undefined : JSON.stringify(body));
    const json = jsonOrUndefined(answer.body);
    const ok = answer.status >= 200 && answer.status < 300;

    if (!ok) {
      const parsed = errorResponse.safeParse(json);
      throw classifyHttpError(what, answer.status, parsed.success ? parsed.data.error : undefined, {
        retryAfterSeconds: (details) => retryAfterOf(details, answer.rawHeaders),
      });
    }

    const parsed = schema.safeParse(unwrap(json));
    if (!parsed.success) {
      // A 2xx we cannot read: the call may have taken effect, so the outcome is unknown, never "failed".
      throw new UpstreamError('unknown', 'UPSTREAM_BAD_RESPONSE', `${what}: unexpected response from PixelByte`, answer.status);
    }
    return parsed.data;
  }

  /** One request and its whole answer, or an UpstreamError that says how far the request got. */
  private exchange(what: string, method: string, path: string, body: string | undefined): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const exchange = new Exchange(what, this.options.timeoutMs, resolve, reject);
      if (this.badUrl !== undefined) return exchange.onError(this.badUrl as Error);
      try {
        this.dispatcher.dispatch(
          {
            origin: this.origin,
            path: this.pathPrefix + path,
            method: method as Dispatcher.HttpMethod,
            headers: body === undefined ? this.headers : this.headersWithBody,
            body,
          },
          exchange,
        );
      } catch (err) {
        exchange.onError(err as Error);
      }
    });
  }
}

interface Answer {
  status: number;
  /** undici's raw header list: name, value, name, value… */
  rawHeaders: Buffer[];
  body: string;
}

/**
 * The handler of one request (undici's DispatchHandlers): buffers the answer and keeps the call's deadline.
 * undici calls `onConnect` right before it writes the request to a connection: until then not a byte of it has
 * left, so a failure before is `not_sent` for certain, and after it `unknown` (errors.ts). The deadline covers
 * connecting, the headers and the whole body; when it passes, the request is aborted, which destroys its connection:
 * a connection is only ever reused after its answer was read to the end.
 */
class Exchange implements Dispatcher.DispatchHandlers {
  private sent = false;
  private abort: ((err?: Error) => void) | undefined;
  private settled = false;
  private status = 0;
  private rawHeaders: Buffer[] = [];
  private readonly chunks: Buffer[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly what: string,
    timeoutMs: number,
    private readonly resolve: (answer: Answer) => void,
    private readonly reject: (err: UpstreamError) => void,
  ) {
    this.timer = setTimeout(() => this.onTimeout(), timeoutMs);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.settled) {
      // The deadline passed while the connection was opening and the call already failed as not_sent: never write it.
      abort(timeoutError());
      return;
    }
    this.sent = true;
    this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode >= 200) {
      // 1xx answers are interim: the real one follows.
      this.status = statusCode;
      this.rawHeaders = rawHeaders;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (!this.settle()) return;
    const bytes = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    let body = bytes.toString('utf8');
    if (body.charCodeAt(0) === 0xfeff) body = body.slice(1); // a UTF-8 BOM, which fetch's text() dropped too
    this.resolve({ status: this.status, rawHeaders: this.rawHeaders, body });
  }

  onError(err: Error): void {
    if (this.settle()) this.reject(this.failure(err));
  }

  private onTimeout(): void {
    if (!this.settled) {
      this.settled = true;
      const err = timeoutError();
      this.reject(this.failure(err));
      this.abort?.(err); // destroys the connection, whatever of the answer is still unread
    }
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    return true;
  }

  private failure(err: unknown): UpstreamError {
    // Without the body there is no telling PixelByte's refusal from a gateway's: the outcome is unknown.
    if (this.status !== 0 && (this.status < 200 || this.status >= 300)) return classifyHttpError(this.what, this.status, undefined, { bodyRead: false });
    return classifyNetworkError(err, this.what, { sent: this.sent });
  }
}

function timeoutError(): Error {
  const err = new Error('PixelByte did not answer in time');
  err.name = 'TimeoutError';
  return err;
}

const DEFAULT_RETRY_AFTER_SECONDS = 30;

function retryAfterOf(details: unknown, rawHeaders: Buffer[]): number {
  const fromBody = (details as { retryAfter?: unknown } | undefined)?.retryAfter;
  if (typeof fromBody === 'number' && Number.isFinite(fromBody) && fromBody >= 0) return fromBody;
  const fromHeader = Number(headerOf(rawHeaders, 'retry-after'));
  if (Number.isFinite(fromHeader) && fromHeader > 0) return fromHeader;
  return DEFAULT_RETRY_AFTER_SECONDS;
}

/** A header's value from undici's raw list (`name` in lower case), joined with ", " when repeated, as Headers.get did. */
function headerOf(rawHeaders: Buffer[], name: string): string | null {
  let value: string | null = null;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.length === name.length && rawHeaders[i]!.toString('latin1').toLowerCase() === name) {
      const v = rawHeaders[i + 1]!.toString('latin1').trim();
      value = value === null ? v : `${value}, ${v}`;
    }
  }
  return value;
}

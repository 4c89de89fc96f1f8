import { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { jsonOrUndefined } from '../shared/json.js';
import { classifyNetworkError, UpstreamError } from './errors.js';
import { errorResponse } from './schemas.js';

/** A file held as the chunks it arrived in: never joined into one buffer, so its bytes are in memory once. */
export interface HeldFile {
  contentType: string;
  bytes: number;
  chunks: readonly Buffer[];
}

export interface FileUploaderOptions {
  /** Bounds the whole PUT: connecting, sending the file, and the answer. */
  timeoutMs: number;
  dispatcher?: Dispatcher;
}

// Idle storage connections close soon, as the API's do (client.ts): an upload is rare and seldom finds one warm.
const IDLE_CONNECTION_MS = 4_000;
// Enough of a refusal's body to name it in a log line.
const ERROR_BODY_BYTES = 2_048;

/**
 * PUTs a file to the `uploadUrl` PixelByte presigned. That URL is on PixelByte's storage, another origin than its
 * API, so the PUT goes through an agent of its own rather than the API's pool. Nothing is charged for an upload,
 * so unlike a submit a failure needs no classifying beyond "it did not work": the caller tries again, or gives up.
 */
export class FileUploader {
  private readonly dispatcher: Dispatcher;

  constructor(private readonly options: FileUploaderOptions) {
    this.dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: IDLE_CONNECTION_MS, keepAliveMaxTimeout: IDLE_CONNECTION_MS });
  }

  async put(uploadUrl: string, file: HeldFile): Promise<void> {
    const url = new URL(uploadUrl);
    const what = `PUT ${url.origin}${url.pathname}`;
    let answer: Dispatcher.ResponseData;
    try {
      answer = await this.dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'PUT',
        // The presigned URL signs the content type: it must be exactly the one given at the presign.
        headers: { 'content-type': file.contentType, 'content-length': String(file.bytes) },
        body: Readable.from(file.chunks, { objectMode: false }),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      throw classifyNetworkError(err, what);
    }
    if (answer.statusCode >= 200 && answer.statusCode < 300) {
      await answer.body.dump();
      return;
    }
    const text = await readSome(answer.body);
    const envelope = errorResponse.safeParse(jsonOrUndefined(text));
    const code = envelope.success ? envelope.data.error.code : `HTTP_${answer.statusCode}`;
    throw new UpstreamError('rejected', code, `${what}: HTTP ${answer.statusCode} ${code}`, answer.statusCode);
  }

  /** Closes the agent this uploader made (a dispatcher passed in is its owner's to close). */
  async close(): Promise<void> {
    if (!this.options.dispatcher) await this.dispatcher.close();
  }
}

async function readSome(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length >= ERROR_BODY_BYTES) break;
  }
  body.destroy();
  return Buffer.concat(chunks).toString('utf8').slice(0, ERROR_BODY_BYTES);
}

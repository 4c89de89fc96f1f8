import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

export interface SendOptions {
  /** Deadline for the whole exchange: connect, request, response headers and the capped body read. */
  timeoutMs: number;
  /** Resolves the host to the addresses that were checked (see urlSafety.pinnedLookup). */
  lookup?: LookupFunction;
  /** At most this much of the response body is read; the rest is never downloaded. */
  maxBodyBytes?: number;
}

export interface SendResult {
  /** The status the receiver answered with; undefined when it never answered. */
  statusCode?: number;
  headers?: http.IncomingHttpHeaders;
  /** The first bytes of the response body, as text. */
  bodyExcerpt: string;
  /** Set when there is no complete answer: a network error or the timeout. */
  error?: string;
  durationMs: number;
}

const DEFAULT_MAX_BODY_BYTES = 4 * 1024;

/**
 * POSTs a JSON body once. Redirects are not followed (node:http never follows them): a 3xx is just the
 * answer. Never throws; every outcome, including a timeout, comes back as a SendResult.
 */
export function postJson(url: URL, body: string, headers: Record<string, string>, options: SendOptions): Promise<SendResult> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const started = performance.now();
  return new Promise((resolve) => {
    let statusCode: number | undefined;
    let responseHeaders: http.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;

    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy(); // also drops whatever of the body was not read
      const bodyExcerpt = Buffer.concat(chunks).subarray(0, maxBodyBytes).toString('utf8');
      resolve({ statusCode, headers: responseHeaders, bodyExcerpt, error, durationMs: Math.round(performance.now() - started) });
    };

    const client = url.protocol === 'https:' ? https : http;
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'pixelrelay-callbacks/1' },
        lookup: options.lookup,
        // A fresh connection per attempt: nothing pooled from an earlier, differently checked attempt.
        agent: false,
      },
      (response) => {
        statusCode = response.statusCode;
        responseHeaders = response.headers;
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          received += chunk.length;
          if (received >= maxBodyBytes) finish();
        });
        response.on('end', () => finish());
        response.on('error', () => finish());
      },
    );
    request.on('error', (err: NodeJS.ErrnoException) => finish(statusCode === undefined ? describeNetworkError(err) : undefined));
    const timer = setTimeout(() => finish(statusCode === undefined ? `timed out after ${options.timeoutMs} ms` : undefined), options.timeoutMs);
    request.end(body);
  });
}

function describeNetworkError(err: NodeJS.ErrnoException): string {
  return err.code ? `${err.code}: ${err.message}` : err.message;
}

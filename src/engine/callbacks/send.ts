import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { callbackAgents, type PinnedRequestOptions, pinKey } from './connections.js';
import { pinnedLookup } from './urlSafety.js';

export interface SendOptions {
  /** Deadline for the whole exchange: connect, request, response headers and the capped body read. */
  timeoutMs: number;
  /** The only addresses to connect to, as checked (urlSafety.checkCallbackUrl); undefined when any address is allowed. */
  addresses?: LookupAddress[];
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

/** How a pooled connection that the receiver closed while it sat idle fails when it is written to. */
const STALE_CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE']);

/**
 * POSTs a JSON body once, on a pooled keep-alive connection to the checked addresses (connections.ts). Redirects
 * are not followed (node:http never follows them): a 3xx is just the answer. Never throws; every outcome,
 * including a timeout, comes back as a SendResult.
 */
export async function postJson(url: URL, body: string, headers: Record<string, string>, options: SendOptions): Promise<SendResult> {
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  let exchanged = await exchange(url, body, headers, options, deadline, true);
  // The receiver may close an idle connection just as we reuse it; that POST never reached it (Node's documented
  // race), so it goes again, once, on a connection of its own. A receiver sees a repeat, if ever, under one webhook-id.
  if (exchanged.staleConnection) exchanged = await exchange(url, body, headers, options, deadline, false);
  const { staleConnection: _, ...result } = exchanged;
  return { ...result, durationMs: Math.round(performance.now() - started) };
}

type Exchange = Omit<SendResult, 'durationMs'> & { staleConnection: boolean };

function exchange(url: URL, body: string, headers: Record<string, string>, options: SendOptions, deadline: number, pooled: boolean): Promise<Exchange> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return new Promise((resolve) => {
    let statusCode: number | undefined;
    let responseHeaders: http.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;

    // Only a connection whose answer was read to its end can carry the next POST; any other is closed, which also
    // drops whatever of the body was not read.
    const finish = ({ error, answeredInFull = false, staleConnection = false }: { error?: string; answeredInFull?: boolean; staleConnection?: boolean }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!answeredInFull) request.destroy();
      const bodyExcerpt = Buffer.concat(chunks).subarray(0, maxBodyBytes).toString('utf8');
      resolve({ statusCode, headers: responseHeaders, bodyExcerpt, error, staleConnection });
    };

    const secure = url.protocol === 'https:';
    const requestOptions: PinnedRequestOptions = {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'pixelrelay-callbacks/1' },
      lookup: options.addresses && pinnedLookup(options.addresses),
      pinnedTo: pinKey(options.addresses),
      agent: pooled ? (secure ? callbackAgents.https : callbackAgents.http) : false,
    };
    const request = (secure ? https : http).request(url, requestOptions, (response) => {
      statusCode = response.statusCode;
      responseHeaders = response.headers;
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (received >= maxBodyBytes) finish({});
      });
      response.on('end', () => finish({ answeredInFull: true }));
      response.on('error', () => finish({}));
    });
    request.on('error', (err: NodeJS.ErrnoException) => {
      if (statusCode !== undefined) return finish({});
      const staleConnection = pooled && request.reusedSocket && STALE_CONNECTION_CODES.has(err.code ?? '');
      finish({ error: describeNetworkError(err), staleConnection });
    });
    const timer = setTimeout(
      () => finish({ error: statusCode === undefined ? `timed out after ${options.timeoutMs} ms` : undefined }),
      Math.max(0, deadline - performance.now()),
    );
    request.end(body);
  });
}

function describeNetworkError(err: NodeJS.ErrnoException): string {
  return err.code ? `${err.code}: ${err.message}` : err.message;
}

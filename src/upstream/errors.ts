/**
 * What a failed call to PixelByte means for the money:
 * - `rejected`: PixelByte answered with an error, so no job exists and nothing was charged.
 * - `not_sent`: the request never left this machine (connection refused, DNS): safe to send again.
 * - `unknown`: the request left but the answer was lost (timeout, reset): a job may exist and be paid.
 */
export type UpstreamFailureKind = 'rejected' | 'not_sent' | 'unknown';

// PixelByte's own retry advice: only these codes are worth another try.
const RETRYABLE_HTTP = new Set([429, 500, 502, 503, 504]);

export class UpstreamError extends Error {
  override name = 'UpstreamError';
  constructor(
    readonly kind: UpstreamFailureKind,
    readonly code: string,
    message: string,
    readonly httpStatus?: number,
    /** Seconds PixelByte asked us to wait (CONCURRENT_JOBS_EXCEEDED puts it in the body). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** Worth trying again later; a permanent error (bad input, auth, balance, unknown model) is not. */
  get retryable(): boolean {
    if (this.kind !== 'rejected') return true;
    return this.httpStatus !== undefined && RETRYABLE_HTTP.has(this.httpStatus);
  }
}

// Errors raised before a single byte reached the server.
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_INVALID_URL']);

export function classifyNetworkError(err: unknown, what: string): UpstreamError {
  const cause = (err as { cause?: { code?: string } })?.cause;
  const code = cause?.code ?? (err as { code?: string })?.code;
  const name = (err as { name?: string })?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new UpstreamError('unknown', 'UPSTREAM_TIMEOUT', `${what}: PixelByte did not answer in time`);
  }
  if (code && NOT_SENT_CODES.has(code)) {
    return new UpstreamError('not_sent', 'UPSTREAM_UNREACHABLE', `${what}: could not connect to PixelByte (${code})`);
  }
  return new UpstreamError('unknown', 'UPSTREAM_CONNECTION_LOST', `${what}: connection to PixelByte lost${code ? ` (${code})` : ''}`);
}

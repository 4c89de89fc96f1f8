/**
 * What a failed call to PixelByte means for the money:
 * - `rejected`: PixelByte itself answered with an error, so no job exists and nothing was charged.
 * - `not_sent`: the request never left this machine (connection refused, DNS): safe to send again.
 * - `unknown`: the request left and no answer of PixelByte's own came back: a job may exist and be paid.
 *
 * Real PixelByte sits behind a load balancer/CDN, and any answer may be the gateway's rather than
 * PixelByte's. Only PixelByte's error envelope `{ success:false, error:{ code } }` carrying a code it
 * documents, at the HTTP status it documents for that code, proves PixelByte looked at the request and
 * refused it. Everything else is `unknown`, and the submit fence applies (wait for the webhook, ask
 * PixelByte where possible, and only then resend):
 *
 * | answer                                                                          | kind     | what pixelrelay does                          |
 * |---------------------------------------------------------------------------------|----------|-----------------------------------------------|
 * | envelope + documented code at its status: 400 INVALID_INPUT, INVALID_MODEL_SLUG, | rejected | fails the edit with PixelByte's code          |
 * |   MODEL_VERSION_NOT_ACTIVE, INVALID_WEBHOOK_URL; 401 UNAUTHORIZED,               |          |                                               |
 * |   INVALID_API_KEY, API_KEY_INACTIVE, API_KEY_EXPIRED; 402 INSUFFICIENT_BALANCE;  |          |                                               |
 * |   403 MODEL_ACCESS_DENIED, IP_NOT_WHITELISTED, OPERATION_NOT_ALLOWED, FORBIDDEN; |          |                                               |
 * |   404 MODEL_NOT_FOUND, MODEL_VERSION_NOT_FOUND, JOB_NOT_FOUND;                   |          |                                               |
 * |   400 JOB_CANNOT_BE_CANCELLED                                                    |          |                                               |
 * | envelope + 429 CONCURRENT_JOBS_EXCEEDED                                          | rejected | pauses the queue for `retryAfter`, resends    |
 * | envelope + 500 INTERNAL_ERROR, 503 PUBSUB_PUBLISH_FAILED                         | rejected | resends with backoff (PixelByte's advice)     |
 * | 502, 504, whatever the body                                                      | unknown  | fence                                         |
 * | any other non-2xx without that envelope: HTML, empty, not JSON, an undocumented  | unknown  | fence                                         |
 * |   code, a documented code at another status, a body lost while reading it        |          |                                               |
 * | 2xx whose body is not a job                                                      | unknown  | fence                                         |
 * | once the request was handed to a connection: a timeout (ours, or waiting for the | unknown  | fence                                         |
 * |   headers or the body), a reset or close (also of a kept-alive connection the    |          |                                               |
 * |   server had just closed: who knows whether it read the request first)           |          |                                               |
 * | before it was handed to a connection: connection refused, DNS failure, connect   | not_sent | resends with backoff                          |
 * |   timeout, our deadline passing while the connection was still opening           |          |                                               |
 *
 * The client (client.ts) knows which side of that line a failure fell on: undici hands a request to a connection
 * (`onConnect`) right before writing its first byte, and the client tells `classifyNetworkError` (`sent`).
 * undici's own error codes, for the record: UND_ERR_CONNECT_TIMEOUT, ECONNREFUSED, ENOTFOUND, EAI_AGAIN come
 * before; UND_ERR_SOCKET ("other side closed"), ECONNRESET, EPIPE, UND_ERR_HEADERS_TIMEOUT, UND_ERR_BODY_TIMEOUT
 * after. undici never resends a request on its own (no retry interceptor here, one request per connection).
 */
export type UpstreamFailureKind = 'rejected' | 'not_sent' | 'unknown';

/** Every error code PixelByte documents, at the one HTTP status it documents it with. */
const DOCUMENTED_ERRORS: ReadonlyMap<string, number> = new Map([
  ...['INVALID_INPUT', 'INVALID_MODEL_SLUG', 'MODEL_VERSION_NOT_ACTIVE', 'INVALID_WEBHOOK_URL', 'JOB_CANNOT_BE_CANCELLED'].map((c) => [c, 400] as const),
  ...['UNAUTHORIZED', 'INVALID_API_KEY', 'API_KEY_INACTIVE', 'API_KEY_EXPIRED'].map((c) => [c, 401] as const),
  ['INSUFFICIENT_BALANCE', 402],
  ...['MODEL_ACCESS_DENIED', 'IP_NOT_WHITELISTED', 'OPERATION_NOT_ALLOWED', 'FORBIDDEN'].map((c) => [c, 403] as const),
  ...['MODEL_NOT_FOUND', 'MODEL_VERSION_NOT_FOUND', 'JOB_NOT_FOUND'].map((c) => [c, 404] as const),
  ['CONCURRENT_JOBS_EXCEEDED', 429],
  ['INTERNAL_ERROR', 500],
  ['PUBSUB_PUBLISH_FAILED', 503],
]);

// PixelByte's own retry advice: back off and try again on these, and on nothing else it refuses.
const RETRYABLE_CODES = new Set(['CONCURRENT_JOBS_EXCEEDED', 'INTERNAL_ERROR', 'PUBSUB_PUBLISH_FAILED']);

// A gateway's timeout or bad-gateway: PixelByte may have done the work behind it, whatever the body says.
const GATEWAY_STATUSES = new Set([502, 504]);

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

  /**
   * Worth trying again later. A definite refusal is retried only where PixelByte advises it; a permanent
   * one (bad input, auth, balance, unknown model) is not. An unknown outcome is retried, but only behind
   * the fence; a request that never left, at once.
   */
  get retryable(): boolean {
    return this.kind !== 'rejected' || RETRYABLE_CODES.has(this.code);
  }
}

/** PixelByte's error envelope, as far as a non-2xx body carries one. */
export interface ErrorEnvelope {
  code: string;
  message: string;
  details?: unknown;
}

/**
 * A non-2xx answer, by the table above. `envelope` is what the body parsed to (undefined when it is not
 * PixelByte's shape), `bodyRead` false when the body was lost mid-way.
 */
export function classifyHttpError(
  what: string,
  status: number,
  envelope: ErrorEnvelope | undefined,
  options: { bodyRead?: boolean; retryAfterSeconds?: (details: unknown) => number } = {},
): UpstreamError {
  const bodyRead = options.bodyRead ?? true;
  if (bodyRead && envelope && !GATEWAY_STATUSES.has(status) && DOCUMENTED_ERRORS.get(envelope.code) === status) {
    const retryAfter = status === 429 ? options.retryAfterSeconds?.(envelope.details) : undefined;
    return new UpstreamError('rejected', envelope.code, envelope.message || `PixelByte answered HTTP ${status} ${envelope.code}`, status, retryAfter);
  }
  const why = !bodyRead
    ? 'its body was lost'
    : GATEWAY_STATUSES.has(status)
      ? 'a gateway error'
      : envelope
        ? `${envelope.code} is not an error PixelByte documents at this status`
        : 'not in PixelByte’s error shape';
  return new UpstreamError('unknown', envelope?.code ?? `HTTP_${status}`, `${what}: HTTP ${status}, ${why}: PixelByte may have acted on it`, status);
}

// Errors raised before a single byte reached the server: used when the caller cannot tell how far the request got.
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_INVALID_URL']);

// Waiting too long for an answer that had begun, or not: ours (the call's deadline) and undici's own timers.
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * A call that failed without an HTTP answer we could read. `sent`: whether the request had been handed to a
 * connection (from then on any byte of it may have reached PixelByte); false makes it `not_sent` whatever the
 * error, true makes it `unknown` whatever the error; left out, the error's code decides (NOT_SENT_CODES).
 */
export function classifyNetworkError(err: unknown, what: string, options: { sent?: boolean } = {}): UpstreamError {
  const cause = (err as { cause?: { code?: string } })?.cause;
  const code = cause?.code ?? (err as { code?: string })?.code;
  const name = (err as { name?: string })?.name;
  const timedOut = name === 'TimeoutError' || name === 'AbortError' || (code !== undefined && TIMEOUT_CODES.has(code));
  if (options.sent === false || (options.sent === undefined && !timedOut && code && NOT_SENT_CODES.has(code))) {
    const why = code ?? (timedOut ? 'no connection in time' : name);
    return new UpstreamError('not_sent', 'UPSTREAM_UNREACHABLE', `${what}: could not connect to PixelByte${why ? ` (${why})` : ''}`);
  }
  if (timedOut) {
    return new UpstreamError('unknown', 'UPSTREAM_TIMEOUT', `${what}: PixelByte did not answer in time`);
  }
  return new UpstreamError('unknown', 'UPSTREAM_CONNECTION_LOST', `${what}: connection to PixelByte lost${code ? ` (${code})` : ''}`);
}

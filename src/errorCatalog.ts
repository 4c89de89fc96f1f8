/** One documented error: the HTTP status it comes with, its stable code, and when a client meets it. */
export interface ErrorCodeDoc {
  status: number;
  code: string;
  when: string;
}

const doc = (status: number, code: string, when: string): ErrorCodeDoc => ({ status, code, when });

/**
 * Every error code the API answers with, once. Each route names the codes it answers in its schema's `x-error-codes`
 * and each guard those it answers for its scope (api/openapi/routeDocs.ts); test/api/openapi.test.ts fails when a
 * code thrown anywhere in src/ is missing here, or on every operation.
 */
export const ERROR_CODES = {
  INVALID_INPUT: doc(400, 'INVALID_INPUT', 'A field is missing or wrong; `details` lists `{ path, message }`'),
  INVALID_JSON: doc(400, 'INVALID_JSON', 'The body is not JSON'),
  INVALID_UTF8: doc(
    400,
    'INVALID_UTF8',
    'The body is not valid UTF-8 (an invalid, overlong or truncated sequence, or an encoded surrogate); nothing was stored',
  ),
  INVALID_CONTENT_LENGTH: doc(400, 'INVALID_CONTENT_LENGTH', 'Content-Length does not match the body'),
  BAD_REQUEST: doc(400, 'BAD_REQUEST', 'The request is not valid HTTP'),
  REQUEST_ABORTED: doc(400, 'REQUEST_ABORTED', 'The connection closed before the request arrived'),
  INVALID_URL: doc(400, 'INVALID_URL', 'The URL is not valid percent-encoded UTF-8'),
  MODEL_NOT_SUPPORTED: doc(400, 'MODEL_NOT_SUPPORTED', 'Unknown `model`; `details.supportedModels` lists the known ones'),
  INVALID_CALLBACK_URL: doc(400, 'INVALID_CALLBACK_URL', '`callbackUrl` is not https, or is or resolves to an address pixelrelay must not call'),
  CALLBACKS_DISABLED: doc(400, 'CALLBACKS_DISABLED', 'A `callbackUrl` was given but this server has no CALLBACK_SIGNING_SECRET'),
  INVALID_MULTIPART: doc(400, 'INVALID_MULTIPART', 'The multipart/form-data body cannot be read: no boundary, malformed, or cut short'),
  FILE_EMPTY: doc(400, 'FILE_EMPTY', 'The uploaded file, or an edit’s data: URL, has no bytes (for an edit, `details` names the field)'),
  UNKNOWN_UPLOAD: doc(400, 'UNKNOWN_UPLOAD', 'An `upload:<id>` in the input names no upload of this client; `details` names the field; nothing was stored'),
  UPLOAD_EXPIRED: doc(
    400,
    'UPLOAD_EXPIRED',
    'An `upload:<id>` in the input names an upload PixelByte deletes within UPLOAD_EXPIRY_MARGIN_MS; `details` names the field; nothing was stored. Upload the image again',
  ),
  INVALID_IDEMPOTENCY_KEY: doc(400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key is not 1–255 visible ASCII characters'),
  UNAUTHORIZED: doc(401, 'UNAUTHORIZED', 'Missing or unknown bearer token'),
  INVALID_SIGNATURE: doc(401, 'INVALID_SIGNATURE', 'X-PixelByte-Signature does not match the body, or X-PixelByte-Timestamp is missing or outside ±300 s'),
  INVALID_WEBHOOK_TOKEN: doc(401, 'INVALID_WEBHOOK_TOKEN', 'The URL does not carry this edit’s token'),
  BUDGET_EXCEEDED: doc(402, 'BUDGET_EXCEEDED', 'The edit would exceed the client’s daily budget; nothing was stored'),
  EDIT_NOT_FOUND: doc(404, 'EDIT_NOT_FOUND', 'No edit with this id (for this client)'),
  MODEL_NOT_FOUND: doc(404, 'MODEL_NOT_FOUND', 'No model with this slug'),
  CLIENT_NOT_FOUND: doc(404, 'CLIENT_NOT_FOUND', 'No client with this id'),
  API_KEY_NOT_FOUND: doc(404, 'API_KEY_NOT_FOUND', 'No API key with this id'),
  UPLOAD_NOT_FOUND: doc(404, 'UPLOAD_NOT_FOUND', 'No upload with this id (for this client)'),
  ROUTE_NOT_FOUND: doc(404, 'ROUTE_NOT_FOUND', 'No such route'),
  REQUEST_TIMEOUT: doc(408, 'REQUEST_TIMEOUT', 'The request did not arrive whole within HTTP_REQUEST_TIMEOUT_MS; the connection is closed'),
  EDIT_NOT_CANCELLABLE: doc(409, 'EDIT_NOT_CANCELLABLE', 'The edit is past the point where it can be cancelled; `details.status` is its status'),
  CALLBACK_NOT_REDELIVERABLE: doc(409, 'CALLBACK_NOT_REDELIVERABLE', 'Nothing to send again: `details.status` is `none` or `pending`'),
  EDIT_NOT_SUBMITTED: doc(409, 'EDIT_NOT_SUBMITTED', 'The edit was never sent to PixelByte; nothing stored'),
  JOB_OF_ANOTHER_EDIT: doc(409, 'JOB_OF_ANOTHER_EDIT', 'Another edit adopted this job; nothing stored'),
  PAYLOAD_TOO_LARGE: doc(413, 'PAYLOAD_TOO_LARGE', 'The body is over BODY_LIMIT_BYTES (EDIT_BODY_LIMIT_BYTES for POST /v1/edits and its estimate)'),
  FILE_TOO_LARGE: doc(
    413,
    'FILE_TOO_LARGE',
    'The uploaded file is larger than UPLOAD_MAX_BYTES (PixelByte takes 10,485,760 at most; `details.maxBytes`), or an edit’s data: URL decodes to more than INLINE_IMAGE_MAX_BYTES (`details` names the field); nothing was stored',
  ),
  UNSUPPORTED_MEDIA_TYPE: doc(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    'The body is not of a type the route takes (application/json; for an upload, multipart/form-data or an image type), or an uploaded file (or an edit’s data: URL, `details` naming the field) is not a JPEG, PNG, WebP or GIF by its bytes, or not the type it was sent as',
  ),
  URI_TOO_LONG: doc(414, 'URI_TOO_LONG', 'A path parameter is longer than this server accepts'),
  IDEMPOTENCY_KEY_REUSED: doc(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different body'),
  RATE_LIMITED: doc(429, 'RATE_LIMITED', 'The client made more requests per minute than it may; retry after `Retry-After`'),
  QUEUE_FULL: doc(
    429,
    'QUEUE_FULL',
    'The client has `maxQueued` edits waiting already, or the relay MAX_QUEUED_EDITS (`details.scope`: `client` or `server`); nothing was stored. Retry after `Retry-After`',
  ),
  REDELIVER_TOO_SOON: doc(
    429,
    'REDELIVER_TOO_SOON',
    'This edit’s callback was redelivered less than CALLBACK_REDELIVER_COOLDOWN_MS ago; nothing was stored. Retry after `Retry-After` (also `details.retryAfterSeconds`)',
  ),
  TOO_MANY_AUTH_FAILURES: doc(
    429,
    'TOO_MANY_AUTH_FAILURES',
    'This address presented more invalid API keys than AUTH_FAILURE_LIMIT allows per window; its keys are not looked up until `Retry-After`',
  ),
  TOO_MANY_WATCHES: doc(
    429,
    'TOO_MANY_WATCHES',
    'The client (WATCH_MAX_PER_CLIENT) or this server (WATCH_MAX_PER_PROCESS) holds as many waits (`Prefer: wait`) and event streams as it may; nothing was stored. Retry after `Retry-After`',
  ),
  HEADERS_TOO_LARGE: doc(431, 'HEADERS_TOO_LARGE', 'The request headers are larger than this server accepts'),
  INTERNAL_ERROR: doc(500, 'INTERNAL_ERROR', 'A bug; the message never carries internals'),
  DATABASE_UNAVAILABLE: doc(503, 'DATABASE_UNAVAILABLE', 'Postgres is down; nothing was changed. Retry after `Retry-After`'),
  UPSTREAM_UNAVAILABLE: doc(503, 'UPSTREAM_UNAVAILABLE', 'PixelByte could not be asked; try again'),
  UPSTREAM_NOT_READY: doc(503, 'UPSTREAM_NOT_READY', 'PixelByte does not list the job’s outputs yet; deliver again later'),
  NOT_READY: doc(503, 'NOT_READY', 'A dependency is unavailable; `details` names each one’s state'),
} as const satisfies Record<string, ErrorCodeDoc>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** What any request can meet before a route runs: malformed HTTP, slow or huge requests, and our own bugs. */
export const ANY_REQUEST: readonly ErrorCode[] = ['BAD_REQUEST', 'INVALID_URL', 'URI_TOO_LONG', 'REQUEST_TIMEOUT', 'HEADERS_TOO_LARGE', 'INTERNAL_ERROR'];
/** What reading a JSON body can meet. */
export const ANY_BODY: readonly ErrorCode[] = [
  'INVALID_JSON',
  'INVALID_UTF8',
  'INVALID_CONTENT_LENGTH',
  'REQUEST_ABORTED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
];

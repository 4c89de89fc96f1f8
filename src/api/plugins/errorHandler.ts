import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors, ResponseSerializationError } from 'fastify-type-provider-zod';
import type { ErrorCode } from '../../errorCatalog.js';
import { AppError, errorBody, invalidInput } from '../../errors.js';
import { isDatabaseUnavailable } from '../../infra/databaseErrors.js';

// Fastify's own request errors, given codes a client can act on.
const FASTIFY_CODES: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'The request body is larger than this server accepts'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['INVALID_JSON', 'The body is empty but the content type is application/json'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['INVALID_JSON', 'The body is not valid JSON'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['INVALID_CONTENT_LENGTH', 'Content-Length does not match the body'],
};

// Which part of the request a route schema refused (Fastify's `validationContext`).
const INVALID_PART: Record<string, string> = {
  body: 'The request body is invalid',
  querystring: 'The query is invalid',
  params: 'The path is invalid',
  headers: 'The request headers are invalid',
};

/** The schema's JSON pointer (`/input/image_urls/1`) as our details name a field (`input.image_urls.1`). */
const detailPath = (instancePath: string) => instancePath.split('/').slice(1).join('.') || '(body)';

/**
 * One error shape for every failure: `{ statusCode, code, error, message, details? }`. 5xx never leak internals.
 * A plugin that breaks encapsulation, so the handlers it sets are the root's and every scope inherits them.
 */
export const errorHandler = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err: FastifyError | AppError | Error, request, reply) => {
      let appError: AppError;
      if (err instanceof AppError) {
        appError = err;
      } else if ('code' in err && typeof err.code === 'string' && err.code in FASTIFY_CODES) {
        const [code, message] = FASTIFY_CODES[err.code]!;
        appError = new AppError(code, message);
      } else if (hasZodFastifySchemaValidationErrors(err)) {
        const details = err.validation.map((issue) => ({ path: detailPath(issue.instancePath), message: issue.message }));
        appError = invalidInput(INVALID_PART[err.validationContext ?? ''] ?? 'The request is invalid', details);
      } else if (!request.raw.complete && request.raw.readableAborted) {
        // The body stopped short: the client hung up or was cut off (HTTP_REQUEST_TIMEOUT_MS). Nobody is left to answer.
        request.log.info({ code: (err as NodeJS.ErrnoException).code }, 'the connection closed before the request arrived');
        appError = new AppError('REQUEST_ABORTED', 'The connection closed before the request arrived');
      } else if (err instanceof SyntaxError && (err as FastifyError).statusCode === 400) {
        appError = new AppError('INVALID_JSON', 'The body is not valid JSON');
      } else if (err instanceof ResponseSerializationError) {
        // Our own answer broke its schema. Logged by route and place only: the values may be a customer's data.
        const issues = err.cause.issues.map((issue) => ({ path: issue.path.join('.'), code: issue.code }));
        request.log.error({ route: `${err.method} ${err.url}`, issues }, 'response does not match its schema');
        appError = new AppError('INTERNAL_ERROR', 'Internal server error');
      } else if (isDatabaseUnavailable(err)) {
        request.log.error({ err }, 'database unavailable');
        appError = new AppError('DATABASE_UNAVAILABLE', 'The database is unavailable; nothing was changed. Retry shortly', undefined, {
          'retry-after': '5',
        });
      } else if ('statusCode' in err && typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
        // A refusal of Fastify's that has no code of ours: the catalog's one status for it, the framework's words.
        request.log.debug({ code: (err as FastifyError).code, statusCode: err.statusCode }, 'framework refusal');
        appError = new AppError('BAD_REQUEST', err.message);
      } else {
        request.log.error({ err }, 'unhandled error');
        appError = new AppError('INTERNAL_ERROR', 'Internal server error');
      }
      if (appError.statusCode >= 500 && err instanceof AppError) request.log.warn({ code: appError.code }, appError.message);
      if (appError.headers) void reply.headers(appError.headers);
      return reply.status(appError.statusCode).send(errorBody(appError));
    });

    app.setNotFoundHandler((request, reply) => {
      const err = new AppError('ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`);
      return reply.status(404).send(errorBody(err));
    });
  },
  { name: 'error-handler', fastify: '5.x' },
);

// What node finds wrong before or while a request is read, when there may be no request for Fastify to answer.
const CLIENT_ERRORS: Record<string, [ErrorCode, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: ['REQUEST_TIMEOUT', 'The request did not arrive within the time this server allows'],
  HPE_HEADER_OVERFLOW: ['HEADERS_TOO_LARGE', 'The request headers are larger than this server accepts'],
};

/**
 * Fastify's `clientErrorHandler`: the one error shape for malformed HTTP, oversized headers and requests too slow
 * to arrive, then the connection is closed. Logged at debug: a flood of these is a client's doing, not ours.
 */
export function answerClientError(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, message] = CLIENT_ERRORS[err.code ?? ''] ?? ['BAD_REQUEST', 'The request is not valid HTTP'];
  const error = new AppError(code, message);
  const status = error.statusCode;
  this.log.debug({ code: err.code, remoteAddress: socket.remoteAddress }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify(errorBody(error));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

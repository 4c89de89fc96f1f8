import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../errorCatalog.js';
import { AppError, errorBody } from '../../errors.js';
import { REQUEST_ID_HEADER } from './requestId.js';

// Errors Fastify's router meets before any route or hook runs, given our codes instead of Fastify's own.
const ROUTER_ERRORS: Record<string, [ErrorCode, string]> = {
  FST_ERR_BAD_URL: ['INVALID_URL', 'The URL is not valid percent-encoded UTF-8'],
  FST_ERR_MAX_PARAM_LENGTH: ['URI_TOO_LONG', 'A path parameter is longer than this server accepts'],
};

/**
 * Fastify's `frameworkErrors`: the one error shape for a URL the router cannot read (malformed percent-encoding,
 * an encoded lone surrogate, an overlong parameter). Fastify's default answer would echo the path back.
 */
export function answerFrameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const [code, message] = ROUTER_ERRORS[err.code] ?? ['INTERNAL_ERROR', 'Internal server error'];
  const error = new AppError(code, message);
  if (error.statusCode >= 500) request.log.error({ err }, 'router error');
  void reply.status(error.statusCode).header(REQUEST_ID_HEADER, request.id).send(errorBody(error));
}

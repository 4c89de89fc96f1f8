import { STATUS_CODES } from 'node:http';
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errorCatalog.js';

/**
 * An error we mean to show the caller: a stable machine-readable code, a human message. Its HTTP status is the
 * code's in the error catalog, so no code is ever answered with two statuses.
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.statusCode = ERROR_CODES[code].status;
  }
}

/** The one JSON shape of every 4xx and 5xx answer. */
export const errorBodySchema = z.object({
  statusCode: z.number().int(),
  code: z.string(),
  error: z.string(),
  message: z.string(),
  details: z.unknown().optional(),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** The error answers every route declares beside its own success schema. */
export const errorResponses = { '4xx': errorBodySchema, '5xx': errorBodySchema } as const;

export function errorBody(err: AppError): ErrorBody {
  const body: ErrorBody = { statusCode: err.statusCode, code: err.code, error: STATUS_CODES[err.statusCode] ?? 'Error', message: err.message };
  if (err.details !== undefined) body.details = err.details;
  return body;
}

export const invalidUtf8 = () => new AppError('INVALID_UTF8', 'The body is not valid UTF-8');
export const invalidInput = (message: string, details?: unknown) => new AppError('INVALID_INPUT', message, details);
export const unauthorized = (message = 'A valid bearer token is required') =>
  new AppError('UNAUTHORIZED', message, undefined, { 'www-authenticate': 'Bearer' });
export const editNotFound = (id: string) => new AppError('EDIT_NOT_FOUND', `No edit with id ${id}`);

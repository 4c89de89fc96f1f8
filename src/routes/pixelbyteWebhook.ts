import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, invalidInput } from '../errors.js';
import { issuesToDetails } from '../edits/schemas.js';
import { invalidWebhookToken, receivePixelByteWebhook, type WebhookIntakeDeps } from '../edits/webhookIntake.js';
import { webhookPayload } from '../upstream/schemas.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyPixelByteWebhook } from '../upstream/signature.js';
import { isValidWebhookToken, redactWebhookToken, WEBHOOK_PATH_PREFIX } from '../upstream/webhookUrl.js';

const SIGNATURE_MESSAGES = {
  MISSING_SIGNATURE: 'X-PixelByte-Signature and X-PixelByte-Timestamp are required',
  MALFORMED_SIGNATURE: 'X-PixelByte-Signature or X-PixelByte-Timestamp is malformed',
  STALE_TIMESTAMP: 'X-PixelByte-Timestamp is outside the accepted window',
  SIGNATURE_MISMATCH: 'The signature does not match the body',
} as const;

export interface PixelByteWebhookOptions {
  /** PixelByte's webhook signing secret. */
  secret: string;
  /** The key of the per-edit tokens in our webhook URLs (upstream/webhookUrl.ts). */
  urlKey: Buffer;
  intake: WebhookIntakeDeps;
}

/**
 * PixelByte's completion callback. The signature covers the raw bytes, so this scope keeps the body as text.
 * `/{token}/{editId}` is the URL every submit hands PixelByte now; `/{editId}` is kept for edits submitted
 * before tokens, and the intake honours it only for those.
 */
export async function pixelbyteWebhookRoutes(app: FastifyInstance, opts: PixelByteWebhookOptions) {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.post<{ Params: { token: string; editId: string } }>(`${WEBHOOK_PATH_PREFIX}/:token/:editId`, { logSerializers: { req: requestWithoutToken } }, async (request) => {
    // Before anything else, the database above all: a wrong address learns nothing and stores nothing.
    if (!isValidWebhookToken(opts.urlKey, request.params.editId, request.params.token)) throw invalidWebhookToken();
    return receive(opts, request, request.params.editId, true);
  });

  app.post<{ Params: { editId: string } }>(`${WEBHOOK_PATH_PREFIX}/:editId`, async (request) => receive(opts, request, request.params.editId, false));
}

async function receive(opts: PixelByteWebhookOptions, request: FastifyRequest, editId: string, tokenized: boolean) {
  const rawBody = typeof request.body === 'string' ? request.body : '';
  const check = verifyPixelByteWebhook({
    secret: opts.secret,
    rawBody,
    signature: header(request.headers[SIGNATURE_HEADER]),
    timestamp: header(request.headers[TIMESTAMP_HEADER]),
  });
  if (!check.ok) throw new AppError(401, 'INVALID_SIGNATURE', SIGNATURE_MESSAGES[check.reason], { reason: check.reason });

  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    throw new AppError(400, 'INVALID_JSON', 'The body is not valid JSON');
  }
  const payload = webhookPayload.safeParse(json);
  if (!payload.success) throw invalidInput('The webhook payload is not one PixelByte sends', issuesToDetails(payload.error));

  return receivePixelByteWebhook(opts.intake, { editId, payload: payload.data, rawBody, signedAt: check.signedAt, tokenized });
}

/** Fastify's request log line, with the token (a credential) masked in the URL. */
function requestWithoutToken(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactWebhookToken(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

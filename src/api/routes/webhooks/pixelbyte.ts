import type { FastifyBaseLogger, FastifyRequest, FastifySchema } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import { invalidWebhookToken, receivePixelByteWebhook, type WebhookIntakeDeps } from '../../../engine/intake/applyWebhook.js';
import { issuesToDetails } from '../../../engine/schemas/edits.js';
import { AppError, errorResponses, invalidInput, invalidUtf8 } from '../../../errors.js';
import { decodeUtf8 } from '../../../shared/safeText.js';
import { webhookPayload } from '../../../upstream/schemas.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyPixelByteWebhook } from '../../../upstream/signature.js';
import { isValidWebhookToken, redactWebhookToken } from '../../../upstream/webhookUrl.js';
import { pixelbyteWebhookExample, webhookReceiptExample } from '../../openapi/examples.js';

const SIGNATURE_MESSAGES = {
  MISSING_SIGNATURE: 'X-PixelByte-Signature and X-PixelByte-Timestamp are required',
  MALFORMED_SIGNATURE: 'X-PixelByte-Signature or X-PixelByte-Timestamp is malformed',
  STALE_TIMESTAMP: 'X-PixelByte-Timestamp is outside the accepted window',
  SIGNATURE_MISMATCH: 'The signature does not match the body',
} as const;

// Optional here: their absence is the signature check's to name (401 INVALID_SIGNATURE), not a schema's (400).
const signatureHeaders = z.object({ [SIGNATURE_HEADER]: z.string().optional(), [TIMESTAMP_HEADER]: z.string().optional() });

const webhookReceipt = z.object({ received: z.literal(true), duplicate: z.boolean(), applied: z.boolean() });

/** What both URLs share: how PixelByte signs, what it sends, what it is answered. */
const webhookSchema = {
  tags: ['pixelbyte'],
  security: [{ pixelbyteSignature: [] }],
  'x-error-codes': [
    'INVALID_WEBHOOK_TOKEN',
    'INVALID_SIGNATURE',
    'INVALID_INPUT',
    'EDIT_NOT_FOUND',
    'EDIT_NOT_SUBMITTED',
    'JOB_OF_ANOTHER_EDIT',
    'UPSTREAM_UNAVAILABLE',
    'UPSTREAM_NOT_READY',
    'DATABASE_UNAVAILABLE',
  ],
  'x-returns': 'Received (and stored, unless a repeat)',
  'x-raw-body': webhookPayload,
  'x-request-example': pixelbyteWebhookExample,
  'x-response-example': webhookReceiptExample,
  headers: signatureHeaders,
  response: { 200: webhookReceipt, ...errorResponses },
} satisfies FastifySchema;

export interface PixelByteWebhookOptions {
  /** PixelByte's webhook signing secret. */
  secret: string;
  /** The key of the per-edit tokens in our webhook URLs (upstream/webhookUrl.ts). */
  urlKey: Buffer;
  intake: WebhookIntakeDeps;
}

/** What the handlers read of a webhook request: its body is the raw bytes the signature covers. */
interface SignedRequest {
  body: unknown;
  log: FastifyBaseLogger;
  headers: z.infer<typeof signatureHeaders>;
}

/**
 * PixelByte's completion callback. The signature covers the raw bytes, so this scope keeps the body as bytes and
 * no route declares a body schema: the bytes are decoded, and the payload parsed (with `webhookPayload`), only
 * once the signature holds.
 * `/{token}/{editId}` is the URL every submit hands PixelByte now; `/{editId}` is kept for edits submitted
 * before tokens, and the intake honours it only for those.
 */
export const pixelbyteWebhookRoutes: FastifyPluginAsyncZod<PixelByteWebhookOptions> = async (app, opts) => {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post(
    '/:token/:editId',
    {
      schema: {
        ...webhookSchema,
        operationId: 'receivePixelByteWebhook',
        summary: 'PixelByte’s webhook (called by PixelByte, not by clients)',
        description: 'The raw body must be the bytes PixelByte signed. A repeat (same edit, job and status) answers `duplicate: true` and changes nothing.',
        params: z.object({ token: z.string(), editId: z.string() }),
      },
      logSerializers: { req: requestWithoutToken },
    },
    async (request) => {
      // Before anything else, the database above all: a wrong address learns nothing and stores nothing.
      if (!isValidWebhookToken(opts.urlKey, request.params.editId, request.params.token)) throw invalidWebhookToken();
      return receive(opts, request, request.params.editId, true);
    },
  );

  app.post(
    '/:editId',
    {
      schema: {
        ...webhookSchema,
        operationId: 'receiveTokenlessPixelByteWebhook',
        summary: 'PixelByte’s webhook at the URL of releases before tokens',
        description: 'Honoured only for edits all of whose submits were made before tokens existed.',
        params: z.object({ editId: z.string() }),
      },
    },
    async (request) => receive(opts, request, request.params.editId, false),
  );
};

async function receive(opts: PixelByteWebhookOptions, request: SignedRequest, editId: string, tokenized: boolean) {
  const bytes = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const check = verifyPixelByteWebhook({
    secret: opts.secret,
    rawBody: bytes,
    signature: request.headers[SIGNATURE_HEADER],
    timestamp: request.headers[TIMESTAMP_HEADER],
  });
  if (!check.ok) throw new AppError('INVALID_SIGNATURE', SIGNATURE_MESSAGES[check.reason], { reason: check.reason });

  // From here the body is PixelByte's own: a refusal is one it will retry until it gives up, so it is logged.
  // Stored as text, it must be the bytes exactly: ones that are not UTF-8 have no such text.
  const rawBody = decodeUtf8(bytes);
  if (rawBody === null) {
    request.log.warn({ editId }, 'signed webhook refused: the body is not UTF-8');
    throw invalidUtf8();
  }
  let json: unknown;
  try {
    // A byte-order mark is kept in what is stored, and read past here, as the other JSON bodies are.
    json = JSON.parse(rawBody.replace(/^\uFEFF/, ''));
  } catch {
    request.log.warn({ editId }, 'signed webhook refused: the body is not JSON');
    throw new AppError('INVALID_JSON', 'The body is not valid JSON');
  }
  const payload = webhookPayload.safeParse(json);
  if (!payload.success) {
    // Paths and messages only: the values are PixelByte's text, and may be what no log should hold.
    const issues = issuesToDetails(payload.error);
    request.log.warn({ editId, issues }, 'signed webhook refused: not a payload PixelByte sends');
    throw invalidInput('The webhook payload is not one PixelByte sends', issues);
  }

  // The intake's lines carry this request's id and the edit's, like every line about an edit.
  const intake = { ...opts.intake, logger: request.log.child({ editId }) as unknown as Logger };
  return receivePixelByteWebhook(intake, { editId, payload: payload.data, rawBody, signedAt: check.signedAt, tokenized });
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

import { ANY_BODY, ANY_REQUEST, type ErrorCode } from '../../errorCatalog.js';
import {
  acceptedEditExample,
  completedEditExample,
  createEditExample,
  editPageExample,
  estimateExample,
  modelExample,
  modelListExample,
  pixelbyteWebhookExample,
  webhookReceiptExample,
} from './examples.js';

/** The security schemes of the document (components.securitySchemes). */
export const SECURITY_SCHEMES = {
  apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: one of API_KEYS, or a client key made with POST /admin/clients/{id}/keys' },
  adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN (the /admin routes exist only when it is set)' },
  metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when it is set; /metrics is open otherwise' },
  pixelbyteSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'X-PixelByte-Signature',
    description:
      '`sha256=<hex HMAC-SHA256 of "<X-PixelByte-Timestamp>.<raw body>", keyed by PIXELBYTE_WEBHOOK_SECRET>`, with `X-PixelByte-Timestamp` (Unix seconds) within ±300 s. The URL also carries the edit’s token.',
  },
} as const;

type Scheme = keyof typeof SECURITY_SCHEMES;

/** What the reference says of one route beyond its schemas. */
export interface OperationDoc {
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** What the success answer is. */
  returns: string;
  /** Codes this route answers itself; the scope's (auth, body, any request) are added by `errorCodesOf`. */
  errors: ErrorCode[];
  requestExample?: () => unknown;
  /** Examples of the success answer. */
  responseExample?: () => unknown;
}

/** What both of PixelByte's webhook URLs share. */
const PIXELBYTE_WEBHOOK = {
  returns: 'Received (and stored, unless a repeat)',
  tag: 'pixelbyte',
  errors: [
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
  requestExample: () => pixelbyteWebhookExample,
  responseExample: () => webhookReceiptExample,
} satisfies Partial<OperationDoc>;

/** Keyed `METHOD url` as Fastify registers the route. A route missing here is still documented, by its schemas alone. */
export const OPERATIONS: Record<string, OperationDoc> = {
  'POST /v1/edits': {
    operationId: 'createEdit',
    returns: 'The edit, queued (`Location: /v1/edits/{id}`)',
    summary: 'Accept an edit',
    description:
      'Stores the edit and queues it for PixelByte; answers at once with the queued edit and `Location: /v1/edits/{id}`. `input` takes the chosen model’s own fields (GET /v1/models). With `Idempotency-Key`, a repeat gets the first answer (`Idempotent-Replayed: true`).',
    tag: 'edits',
    errors: [
      'INVALID_INPUT',
      'MODEL_NOT_SUPPORTED',
      'INVALID_CALLBACK_URL',
      'CALLBACKS_DISABLED',
      'INVALID_IDEMPOTENCY_KEY',
      'BUDGET_EXCEEDED',
      'IDEMPOTENCY_KEY_REUSED',
      'DATABASE_UNAVAILABLE',
    ],
    requestExample: () => createEditExample,
    responseExample: () => acceptedEditExample,
  },
  'POST /v1/edits/estimate': {
    operationId: 'estimateEdit',
    returns: 'The price of this edit, and how it was reached',
    summary: 'Price an edit without making it',
    description:
      'The body of POST /v1/edits, validated the same way; nothing is stored or sent. The estimate is what POST /v1/edits would store as `estimatedCostMicroCents` and what PixelByte charges. The callbackUrl is checked for shape only.',
    tag: 'edits',
    errors: ['INVALID_INPUT', 'MODEL_NOT_SUPPORTED'],
    requestExample: () => createEditExample,
    responseExample: estimateExample,
  },
  'GET /v1/edits': {
    operationId: 'listEdits',
    returns: 'A page of edits; pass `nextCursor` back as `cursor` for the next',
    summary: 'List edits, newest first',
    tag: 'edits',
    errors: ['INVALID_INPUT', 'DATABASE_UNAVAILABLE'],
    responseExample: () => editPageExample,
  },
  'GET /v1/edits/:id': {
    operationId: 'getEdit',
    returns: 'The edit',
    summary: 'Read an edit',
    tag: 'edits',
    errors: ['INVALID_INPUT', 'EDIT_NOT_FOUND', 'DATABASE_UNAVAILABLE'],
    responseExample: () => completedEditExample,
  },
  'POST /v1/edits/:id/cancel': {
    operationId: 'cancelEdit',
    returns: 'The edit, cancelled',
    summary: 'Cancel a queued edit, or one PixelByte still holds as pending',
    tag: 'edits',
    errors: ['EDIT_NOT_FOUND', 'EDIT_NOT_CANCELLABLE', 'UPSTREAM_UNAVAILABLE', 'DATABASE_UNAVAILABLE'],
  },
  'POST /v1/edits/:id/callback/redeliver': {
    operationId: 'redeliverCallback',
    returns: 'The edit; the new attempts follow in the background under `callback`',
    summary: 'Send a delivered or failed callback again',
    description:
      'At most once per edit within CALLBACK_REDELIVER_COOLDOWN_MS (60 s by default); a redeliver sooner is `429 REDELIVER_TOO_SOON` with `Retry-After`, and changes nothing.',
    tag: 'callbacks',
    errors: ['EDIT_NOT_FOUND', 'CALLBACK_NOT_REDELIVERABLE', 'REDELIVER_TOO_SOON', 'CALLBACKS_DISABLED', 'DATABASE_UNAVAILABLE'],
  },
  'GET /v1/models': {
    operationId: 'listModels',
    returns: 'Every model',
    summary: 'The edit models, their input schemas and prices',
    tag: 'models',
    errors: [],
    responseExample: modelListExample,
  },
  'GET /v1/models/*': {
    operationId: 'getModel',
    returns: 'The model',
    summary: 'One edit model',
    description: 'The slug contains slashes; send it as is (`/v1/models/google/nano-banana/edit-image`) or percent-encoded.',
    tag: 'models',
    errors: ['MODEL_NOT_FOUND'],
    responseExample: modelExample,
  },
  'POST /webhooks/pixelbyte/:token/:editId': {
    ...PIXELBYTE_WEBHOOK,
    operationId: 'receivePixelByteWebhook',
    summary: 'PixelByte’s webhook (called by PixelByte, not by clients)',
    description: 'The raw body must be the bytes PixelByte signed. A repeat (same edit, job and status) answers `duplicate: true` and changes nothing.',
  },
  'POST /webhooks/pixelbyte/:editId': {
    ...PIXELBYTE_WEBHOOK,
    operationId: 'receiveTokenlessPixelByteWebhook',
    summary: 'PixelByte’s webhook at the URL of releases before tokens',
    description: 'Honoured only for edits all of whose submits were made before tokens existed.',
  },
  'GET /healthz': { operationId: 'liveness', returns: 'Up', summary: 'The process is up', tag: 'operations', errors: [] },
  'GET /readyz': { operationId: 'readiness', returns: 'Ready', summary: 'Postgres and Redis answer', tag: 'operations', errors: ['NOT_READY'] },
  'GET /metrics': {
    operationId: 'metrics',
    returns: 'The Prometheus text exposition format (version 0.0.4)',
    summary: 'Prometheus metrics',
    tag: 'operations',
    errors: [],
  },
  'GET /v1/usage': {
    operationId: 'getUsage',
    returns: 'The usage',
    summary: 'This client’s usage',
    tag: 'clients',
    errors: ['INVALID_INPUT', 'DATABASE_UNAVAILABLE'],
  },
  'POST /admin/clients': {
    operationId: 'createClient',
    returns: 'The client',
    summary: 'Create a client',
    tag: 'admin',
    errors: ['INVALID_INPUT', 'DATABASE_UNAVAILABLE'],
  },
  'GET /admin/clients': { operationId: 'listClients', returns: 'Every client', summary: 'List clients', tag: 'admin', errors: ['DATABASE_UNAVAILABLE'] },
  'GET /admin/clients/:id': {
    operationId: 'getClient',
    returns: 'The client',
    summary: 'Read a client',
    tag: 'admin',
    errors: ['CLIENT_NOT_FOUND', 'DATABASE_UNAVAILABLE'],
  },
  'PATCH /admin/clients/:id': {
    operationId: 'updateClient',
    returns: 'The client',
    summary: 'Change a client',
    tag: 'admin',
    errors: ['INVALID_INPUT', 'CLIENT_NOT_FOUND', 'DATABASE_UNAVAILABLE'],
  },
  'POST /admin/clients/:id/keys': {
    operationId: 'createApiKey',
    returns: 'The key, shown this once',
    summary: 'Issue an API key',
    tag: 'admin',
    errors: ['CLIENT_NOT_FOUND', 'DATABASE_UNAVAILABLE'],
  },
  'DELETE /admin/keys/:keyId': {
    operationId: 'revokeApiKey',
    returns: 'The key, revoked',
    summary: 'Revoke an API key',
    tag: 'admin',
    errors: ['API_KEY_NOT_FOUND', 'DATABASE_UNAVAILABLE'],
  },
};

/** Who may call a route, and what that adds to its errors: by where the route lives. */
export function scopeOf(url: string): { security: Partial<Record<Scheme, string[]>>[]; errors: ErrorCode[] } {
  if (url.startsWith('/v1/')) return { security: [{ apiKey: [] }], errors: ['UNAUTHORIZED', 'TOO_MANY_AUTH_FAILURES', 'RATE_LIMITED'] };
  if (url.startsWith('/admin/')) return { security: [{ adminToken: [] }], errors: ['UNAUTHORIZED'] };
  if (url.startsWith('/webhooks/')) return { security: [{ pixelbyteSignature: [] }], errors: [] };
  // `{}`: no credentials is an option too (METRICS_TOKEN unset).
  if (url === '/metrics') return { security: [{ metricsToken: [] }, {}], errors: ['UNAUTHORIZED'] };
  return { security: [], errors: [] };
}

/** Every code a route can answer: its own, its scope's, a JSON body's if it reads one, and any request's. */
export function errorCodesOf(method: string, url: string, readsJsonBody: boolean): ErrorCode[] {
  const own = OPERATIONS[`${method} ${url}`]?.errors ?? [];
  return [...new Set([...scopeOf(url).errors, ...own, ...(readsJsonBody ? ANY_BODY : []), ...ANY_REQUEST])];
}

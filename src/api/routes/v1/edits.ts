import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { editEstimate, estimateEdit } from '../../../engine/accept/estimate.js';
import { parseIncludes } from '../../../engine/editExtras.js';
import { type EditResource, editPage, editResource } from '../../../engine/editResource.js';
import type { EditService } from '../../../engine/edits.js';
import { createEditBody, editIdParams, listEditsQuery } from '../../../engine/schemas/edits.js';
import { waitForEdit } from '../../../engine/watch/waitForEdit.js';
import type { EditWakeups, Watch } from '../../../engine/watch/wakeups.js';
import { errorResponses } from '../../../errors.js';
import { acceptedEditExample, completedEditExample, createEditExample, editPageExample, estimateExample } from '../../openapi/examples.js';
import { preferredWait } from '../../prefer.js';

// Never refused: a Prefer this server cannot read is no preference (RFC 7240).
const preferHeader = z
  .string()
  .optional()
  .describe(
    'RFC 7240. `wait=N` (1–MAX_PREFER_WAIT_SECONDS, larger is capped; `wait` alone is the cap) holds the answer until the edit is terminal or N s have passed; the answer then says `Preference-Applied: wait=N`. Anything else is ignored.',
  );

/** Its format is checked by the service, which answers INVALID_IDEMPOTENCY_KEY. */
const createEditHeaders = z.object({ 'idempotency-key': z.string().optional(), prefer: preferHeader });
const getEditHeaders = z.object({ prefer: preferHeader });

const getEditQuery = z.object({
  include: z
    .string()
    .optional()
    .describe(
      'Comma-separated extras: `history` (the status transitions), `attempts` (the calls to PixelByte’s submit), `deliveries` (the callbacks and their attempts)',
    ),
});

export interface EditRoutesOptions {
  service: EditService;
  /** EDIT_BODY_LIMIT_BYTES: an edit may carry its images inline as data: URLs. */
  bodyLimit: number;
  watch: EditWakeups;
  /** MAX_PREFER_WAIT_SECONDS. */
  maxWaitSeconds: number;
}

/**
 * Waits with the request's socket allowed to stay silent that long: the server's idle timeout (connectionTimeout)
 * is sized for a request's own work, and would otherwise cut a long wait off.
 */
async function waitOnSocket<T>(socket: { timeout?: number; setTimeout(ms: number): unknown }, ms: number, wait: () => Promise<T>): Promise<T> {
  const idle = socket.timeout ?? 0;
  if (idle > 0) socket.setTimeout(idle + ms);
  try {
    return await wait();
  } finally {
    if (idle > 0) socket.setTimeout(idle);
  }
}

/** The edit resource. Registered inside the /v1 scope, behind bearer auth (it reads `request.clientId`). */
export const editRoutes: FastifyPluginAsyncZod<EditRoutesOptions> = async (app, { service, watch: wakeups, maxWaitSeconds, bodyLimit }) => {
  app.post(
    '/edits',
    {
      bodyLimit,
      schema: {
        operationId: 'createEdit',
        summary: 'Accept an edit',
        description:
          'Stores the edit and queues it for PixelByte; answers at once with the queued edit and `Location: /v1/edits/{id}`. `input` takes the chosen model’s own fields (GET /v1/models); an image may be `upload:<id>`, one of your uploads (POST /v1/uploads), or a small image inline as a `data:image/…;base64,` URL (at most INLINE_IMAGE_MAX_BYTES decoded; the body at most EDIT_BODY_LIMIT_BYTES), which is uploaded as POST /v1/uploads would and stored as `upload:<id>`: its bytes must be a JPEG, PNG, WebP or GIF of the type it declares. With `Idempotency-Key`, a repeat gets the first answer (`Idempotent-Replayed: true`). With `Prefer: wait=N`, the answer waits up to N s: `201` with the edit once it is terminal, else `202` with the edit as it is then (a repeat with an Idempotency-Key waits for the same edit).',
        tags: ['edits'],
        'x-error-codes': [
          'INVALID_INPUT',
          'MODEL_NOT_SUPPORTED',
          'INVALID_CALLBACK_URL',
          'CALLBACKS_DISABLED',
          'UNKNOWN_UPLOAD',
          'UPLOAD_EXPIRED',
          'FILE_EMPTY',
          'FILE_TOO_LARGE',
          'UNSUPPORTED_MEDIA_TYPE',
          'INVALID_IDEMPOTENCY_KEY',
          'BUDGET_EXCEEDED',
          'QUEUE_FULL',
          'IDEMPOTENCY_KEY_REUSED',
          'TOO_MANY_WATCHES',
          'UPSTREAM_UNAVAILABLE',
          'DATABASE_UNAVAILABLE',
        ],
        'x-returns': 'The edit, queued (`Location: /v1/edits/{id}`); with `Prefer: wait`, terminal (201) or as it was at the deadline (202)',
        'x-request-example': createEditExample,
        'x-response-example': acceptedEditExample,
        // The chosen model's own `input` schema is applied by the service: which one depends on `model`.
        'x-response-headers': {
          201: { location: '/v1/edits/{id}', 'preference-applied': '`wait=N`: the answer waited (Prefer: wait)', 'idempotent-replayed': '`true` for a repeat' },
          202: {
            location: '/v1/edits/{id}',
            'preference-applied': '`wait=N` when the answer waited N s and the edit was not terminal yet',
            'idempotent-replayed': '`true` when this is the answer stored for an earlier request with the same Idempotency-Key',
          },
        },
        body: createEditBody,
        headers: createEditHeaders,
        response: { 201: editResource, 202: editResource, ...errorResponses },
      },
    },
    async (request, reply) => {
      const waitSeconds = preferredWait(request.headers.prefer, maxWaitSeconds);
      // Taken before the edit is stored, so a client past its cap gets a 429 and nothing is made.
      const watch = waitSeconds === undefined ? undefined : wakeups.watch(request.clientId);
      let result;
      try {
        result = await service.accept(request.body, request.clientId, request.headers['idempotency-key'], request.client);
      } catch (err) {
        watch?.close();
        throw err;
      }
      const body = result.body as EditResource;
      void reply.header('location', `${app.prefix}/edits/${body.id}`);
      if (watch && waitSeconds !== undefined) {
        const waited = await waitAfterAccept(watch, body.id, request.clientId, waitSeconds, request.raw.socket).finally(() => watch.close());
        if (waited) {
          void reply.status(waited.terminal ? 201 : 202).header('preference-applied', `wait=${waitSeconds}`);
          if (result.replayed) void reply.header('idempotent-replayed', 'true');
          return reply.send(waited.edit);
        }
      }
      void reply.status(result.status);
      // A replay is the answer stored for the first request, sent as stored: the resource schema may have grown
      // since (within IDEMPOTENCY_TTL_HOURS of a deploy), and must neither reshape nor refuse what a client holds.
      if (result.replayed) void reply.header('idempotent-replayed', 'true').type('application/json; charset=utf-8').serializer(JSON.stringify);
      return reply.send(body);
    },
  );

  /**
   * The edit once terminal or at the deadline. Null when it could not be read (Postgres went away): the edit is
   * stored all the same, so the caller answers what accept answered rather than an error that says otherwise.
   */
  async function waitAfterAccept(watch: Watch, editId: string, clientId: string, seconds: number, socket: Parameters<typeof waitOnSocket>[0]) {
    watch.follow(editId);
    try {
      return await waitOnSocket(socket, seconds * 1000, () => waitForEdit(watch, seconds * 1000, () => service.get(editId, clientId)));
    } catch (err) {
      app.log.warn({ err, editId }, 'Prefer: wait could not read the edit; answering as accepted');
      return null;
    }
  }

  // The body POST /v1/edits takes, read by the same function; nothing is stored or sent.
  app.post(
    '/edits/estimate',
    {
      bodyLimit,
      schema: {
        operationId: 'estimateEdit',
        summary: 'Price an edit without making it',
        description:
          'The body of POST /v1/edits, validated the same way; nothing is stored or sent. The estimate is what POST /v1/edits would store as `estimatedCostMicroCents` and what PixelByte charges. The callbackUrl is checked for shape only, and so are data: URLs (not decoded) and `upload:<id>` (not looked up).',
        tags: ['edits'],
        'x-error-codes': ['INVALID_INPUT', 'MODEL_NOT_SUPPORTED'],
        'x-returns': 'The price of this edit, and how it was reached',
        'x-request-example': createEditExample,
        'x-response-example': estimateExample(),
        body: createEditBody,
        response: { 200: editEstimate, ...errorResponses },
      },
    },
    async (request) => estimateEdit(request.body),
  );

  app.post(
    '/edits/:id/cancel',
    {
      schema: {
        operationId: 'cancelEdit',
        summary: 'Cancel a queued edit, or one PixelByte still holds as pending',
        tags: ['edits'],
        'x-error-codes': ['EDIT_NOT_FOUND', 'EDIT_NOT_CANCELLABLE', 'UPSTREAM_UNAVAILABLE', 'DATABASE_UNAVAILABLE'],
        'x-returns': 'The edit, cancelled',
        params: editIdParams,
        response: { 200: editResource, ...errorResponses },
      },
    },
    async (request) => service.cancel(request.params.id, request.clientId),
  );

  app.get(
    '/edits/:id',
    {
      schema: {
        operationId: 'getEdit',
        summary: 'Read an edit',
        tags: ['edits'],
        description: 'With `Prefer: wait=N`, the answer waits up to N s for the edit to be terminal, then carries it as it is (`Preference-Applied: wait=N`).',
        'x-error-codes': ['INVALID_INPUT', 'EDIT_NOT_FOUND', 'TOO_MANY_WATCHES', 'DATABASE_UNAVAILABLE'],
        'x-returns': 'The edit (with `Prefer: wait`, once terminal or as it was at the deadline)',
        'x-response-example': completedEditExample,
        'x-response-headers': { 200: { 'preference-applied': '`wait=N` when the request said Prefer: wait (N as granted, after the cap)' } },
        params: editIdParams,
        querystring: getEditQuery,
        headers: getEditHeaders,
        response: { 200: editResource, ...errorResponses },
      },
    },
    async (request, reply) => {
      const includes = parseIncludes(request.query.include);
      const read = () => service.get(request.params.id, request.clientId, includes);
      const waitSeconds = preferredWait(request.headers.prefer, maxWaitSeconds);
      if (waitSeconds === undefined) return read();
      // Listening before the first read: a change between that read and the wait still wakes it.
      const watch = wakeups.watch(request.clientId, request.params.id);
      try {
        const { edit } = await waitOnSocket(request.raw.socket, waitSeconds * 1000, () => waitForEdit(watch, waitSeconds * 1000, read));
        void reply.header('preference-applied', `wait=${waitSeconds}`);
        return edit;
      } finally {
        watch.close();
      }
    },
  );

  app.get(
    '/edits',
    {
      schema: {
        operationId: 'listEdits',
        summary: 'List edits, newest first',
        tags: ['edits'],
        'x-error-codes': ['INVALID_INPUT', 'DATABASE_UNAVAILABLE'],
        'x-returns': 'A page of edits; pass `nextCursor` back as `cursor` for the next',
        'x-response-example': editPageExample,
        // An unreadable cursor is the service's to refuse (INVALID_INPUT at `cursor`): only it can decode one.
        querystring: listEditsQuery,
        response: { 200: editPage, ...errorResponses },
      },
    },
    async (request) => service.list(request.query, request.clientId),
  );
};

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { editEstimate, estimateEdit } from '../../../engine/accept/estimate.js';
import { type EditResource, editPage, editResource } from '../../../engine/editResource.js';
import type { EditService } from '../../../engine/edits.js';
import { createEditBody, editIdParams, listEditsQuery } from '../../../engine/schemas/edits.js';
import { errorResponses } from '../../../errors.js';
import { acceptedEditExample, completedEditExample, createEditExample, editPageExample, estimateExample } from '../../openapi/examples.js';

/** Its format is checked by the service, which answers INVALID_IDEMPOTENCY_KEY. */
const createEditHeaders = z.object({ 'idempotency-key': z.string().optional() });

const getEditQuery = z.object({
  include: z.string().optional().describe('Comma-separated extras; `history` adds the status transitions'),
});

export interface EditRoutesOptions {
  service: EditService;
}

/** The edit resource. Registered inside the /v1 scope, behind bearer auth (it reads `request.clientId`). */
export const editRoutes: FastifyPluginAsyncZod<EditRoutesOptions> = async (app, { service }) => {
  app.post(
    '/edits',
    {
      schema: {
        operationId: 'createEdit',
        summary: 'Accept an edit',
        description:
          'Stores the edit and queues it for PixelByte; answers at once with the queued edit and `Location: /v1/edits/{id}`. `input` takes the chosen model’s own fields (GET /v1/models); an image may be `upload:<id>`, one of your uploads (POST /v1/uploads). With `Idempotency-Key`, a repeat gets the first answer (`Idempotent-Replayed: true`).',
        tags: ['edits'],
        'x-error-codes': [
          'INVALID_INPUT',
          'MODEL_NOT_SUPPORTED',
          'INVALID_CALLBACK_URL',
          'CALLBACKS_DISABLED',
          'UNKNOWN_UPLOAD',
          'UPLOAD_EXPIRED',
          'INVALID_IDEMPOTENCY_KEY',
          'BUDGET_EXCEEDED',
          'IDEMPOTENCY_KEY_REUSED',
          'DATABASE_UNAVAILABLE',
        ],
        'x-returns': 'The edit, queued (`Location: /v1/edits/{id}`)',
        'x-request-example': createEditExample,
        'x-response-example': acceptedEditExample,
        // The chosen model's own `input` schema is applied by the service: which one depends on `model`.
        body: createEditBody,
        headers: createEditHeaders,
        response: { 202: editResource, ...errorResponses },
      },
    },
    async (request, reply) => {
      const result = await service.accept(request.body, request.clientId, request.headers['idempotency-key']);
      const body = result.body as EditResource;
      void reply.status(result.status).header('location', `${app.prefix}/edits/${body.id}`);
      // A replay is the answer stored for the first request, sent as stored: the resource schema may have grown
      // since (within IDEMPOTENCY_TTL_HOURS of a deploy), and must neither reshape nor refuse what a client holds.
      if (result.replayed) void reply.header('idempotent-replayed', 'true').type('application/json; charset=utf-8').serializer(JSON.stringify);
      return reply.send(body);
    },
  );

  // The body POST /v1/edits takes, read by the same function; nothing is stored or sent.
  app.post(
    '/edits/estimate',
    {
      schema: {
        operationId: 'estimateEdit',
        summary: 'Price an edit without making it',
        description:
          'The body of POST /v1/edits, validated the same way; nothing is stored or sent. The estimate is what POST /v1/edits would store as `estimatedCostMicroCents` and what PixelByte charges. The callbackUrl is checked for shape only.',
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
        'x-error-codes': ['INVALID_INPUT', 'EDIT_NOT_FOUND', 'DATABASE_UNAVAILABLE'],
        'x-returns': 'The edit',
        'x-response-example': completedEditExample,
        params: editIdParams,
        querystring: getEditQuery,
        response: { 200: editResource, ...errorResponses },
      },
    },
    async (request) => {
      const include = (request.query.include ?? '').split(',');
      return service.get(request.params.id, request.clientId, { includeHistory: include.includes('history') });
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

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { editEstimate, estimateEdit } from '../../../engine/accept/estimate.js';
import { type EditResource, editPage, editResource } from '../../../engine/editResource.js';
import type { EditService } from '../../../engine/edits.js';
import { errorResponses } from '../../../errors.js';
import { createEditBody, editIdParams, listEditsQuery } from '../../schemas/edits.js';

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
    // The chosen model's own `input` schema is applied by the service: which one depends on `model`.
    { schema: { body: createEditBody, headers: createEditHeaders, response: { 202: editResource, ...errorResponses } } },
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
  app.post('/edits/estimate', { schema: { body: createEditBody, response: { 200: editEstimate, ...errorResponses } } }, async (request) =>
    estimateEdit(request.body),
  );

  app.post('/edits/:id/cancel', { schema: { params: editIdParams, response: { 200: editResource, ...errorResponses } } }, async (request) =>
    service.cancel(request.params.id, request.clientId),
  );

  app.get(
    '/edits/:id',
    { schema: { params: editIdParams, querystring: getEditQuery, response: { 200: editResource, ...errorResponses } } },
    async (request) => {
      const include = (request.query.include ?? '').split(',');
      return service.get(request.params.id, request.clientId, { includeHistory: include.includes('history') });
    },
  );

  app.get(
    '/edits',
    // An unreadable cursor is the service's to refuse (INVALID_INPUT at `cursor`): only it can decode one.
    { schema: { querystring: listEditsQuery, response: { 200: editPage, ...errorResponses } } },
    async (request) => service.list(request.query, request.clientId),
  );
};

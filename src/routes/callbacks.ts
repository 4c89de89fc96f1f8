import type { FastifyInstance } from 'fastify';
import type { CallbackService } from '../callbacks/service.js';
import type { EditService } from '../edits/service.js';

export function callbackRoutes(app: FastifyInstance, callbacks: CallbackService, edits: EditService): void {
  // 202: the new attempts happen in the background; GET /v1/edits/{id} follows them under `callback`.
  app.post<{ Params: { id: string } }>('/v1/edits/:id/callback/redeliver', async (request, reply) => {
    await callbacks.redeliver(request.params.id);
    return reply.status(202).send(await edits.get(request.params.id));
  });
}

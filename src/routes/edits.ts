import type { FastifyInstance } from 'fastify';
import type { EditService } from '../edits/service.js';

export function editRoutes(app: FastifyInstance, service: EditService): void {
  app.post('/v1/edits', async (request, reply) => {
    const edit = await service.accept(request.body, request.clientId);
    return reply.status(202).header('location', `/v1/edits/${edit.id}`).send(edit);
  });

  app.get<{ Params: { id: string }; Querystring: { include?: string } }>('/v1/edits/:id', async (request) => {
    const include = (request.query.include ?? '').split(',');
    return service.get(request.params.id, { includeHistory: include.includes('history') });
  });

  app.get('/v1/edits', async (request) => service.list(request.query));
}

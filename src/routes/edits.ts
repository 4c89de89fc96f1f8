import type { FastifyInstance } from 'fastify';
import type { EditService } from '../edits/service.js';

export function editRoutes(app: FastifyInstance, service: EditService): void {
  app.post('/v1/edits', async (request, reply) => {
    const key = request.headers['idempotency-key'];
    const result = await service.accept(request.body, request.clientId, Array.isArray(key) ? key[0] : key);
    const id = (result.body as { id: string }).id;
    if (result.replayed) void reply.header('idempotent-replayed', 'true');
    return reply.status(result.status).header('location', `/v1/edits/${id}`).send(result.body);
  });

  app.post<{ Params: { id: string } }>('/v1/edits/:id/cancel', async (request) => service.cancel(request.params.id));

  app.get<{ Params: { id: string }; Querystring: { include?: string } }>('/v1/edits/:id', async (request) => {
    const include = (request.query.include ?? '').split(',');
    return service.get(request.params.id, { includeHistory: include.includes('history') });
  });

  app.get('/v1/edits', async (request) => service.list(request.query));
}

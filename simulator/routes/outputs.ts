import type { FastifyInstance } from 'fastify';

// A valid 1×1 PNG: enough for a client that downloads or probes an output URL.
const TINY_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

/** Stands in for PixelByte's CDN: every output and thumbnail URL resolves to the same tiny PNG. */
export async function outputRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Params: { file: string } }>('/outputs/:file', async (request, reply) => {
    if (!/^[\w-]+\.png$/.test(request.params.file)) {
      return reply.code(404).send({ success: false, error: { code: 'NOT_FOUND', message: 'No such output', details: null }, requestId: request.id });
    }
    return reply.type('image/png').header('cache-control', 'public, max-age=31536000, immutable').send(TINY_PNG);
  });
}

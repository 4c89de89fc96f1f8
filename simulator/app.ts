import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { SimulatorContext } from './context.js';
import { errorBody, SimError } from './errors.js';
import { randomId } from './jobStore.js';
import { controlRoutes } from './routes/control.js';
import { jobRoutes } from './routes/jobs.js';
import { outputRoutes } from './routes/outputs.js';
import { uploadRoutes } from './routes/uploads.js';
import type { RecordedCall } from './types.js';

const isControl = (url: string) => url.startsWith('/__sim');

/** The simulator's Fastify app. Never listens and never reads env: createSimulator and main.ts do that. */
export function buildSimulatorApp(ctx: SimulatorContext): FastifyInstance {
  const app = Fastify({
    logger: ctx.options.logger,
    genReqId: () => randomId('req'),
    requestIdHeader: false,
    // A test's close() must not wait on keep-alive sockets or hung requests.
    forceCloseConnections: true,
  });

  // Control-plane calls (/__sim) are not PixelByte calls, so they are not recorded or slowed down.
  const callOf = new WeakMap<FastifyRequest, RecordedCall>();
  app.addHook('onRequest', async (request) => {
    if (isControl(request.url)) return;
    const call: RecordedCall = {
      method: request.method,
      path: request.url.split('?')[0] ?? request.url,
      headers: { ...request.headers },
      body: undefined,
      at: new Date(),
      statusCode: null,
    };
    ctx.calls.push(call);
    callOf.set(request, call);
    if (request.method === 'POST' && call.path === '/v1/jobs/submit') ctx.counters.submits += 1;
    await ctx.timers.sleep(ctx.faults.switches.responseDelayMs ?? 0);
  });
  app.addHook('preHandler', async (request) => {
    const call = callOf.get(request);
    if (call) call.body = request.body;
  });
  app.addHook('onResponse', async (request, reply) => {
    const call = callOf.get(request);
    if (call) call.statusCode = reply.statusCode;
  });
  app.addHook('preClose', async () => {
    ctx.timers.stop();
    ctx.sender.stop();
  });

  app.setErrorHandler((err: FastifyError | SimError, request, reply) => {
    if (err instanceof SimError) return reply.code(err.statusCode).send(errorBody(err, request.id));
    const status = err.statusCode ?? 500;
    if (status < 500) {
      // Fastify's own 4xx (malformed JSON, wrong content type, body too large) in PixelByte's shape.
      return reply.code(status).send(errorBody(new SimError(status, 'INVALID_INPUT', err.message), request.id));
    }
    request.log.error({ err }, 'simulator error');
    return reply.code(500).send(errorBody(new SimError(500, 'INTERNAL_ERROR', 'Internal error'), request.id));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody(new SimError(404, 'NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`), request.id)),
  );

  app.register(jobRoutes(ctx), { prefix: '/v1' });
  app.register(outputRoutes(ctx));
  app.register(uploadRoutes(ctx));
  app.register(controlRoutes(ctx), { prefix: '/__sim' });
  return app;
}

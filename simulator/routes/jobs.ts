import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { apiKeyOf, requireApiKey } from '../auth.js';
import type { SimulatorContext } from '../context.js';
import { invalidInput, jobNotFound, SimError } from '../errors.js';
import { decodeCursor } from '../jobStore.js';
import { jobView, listItemView, submitView } from '../jobViews.js';
import { acceptSubmit, issuesOf } from '../submit.js';

const jobParams = z.object({ jobId: z.string() });

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).optional(),
  status: z.enum(['pending', 'processing', 'completed', 'failed', 'cancelled']).optional(),
  modelId: z.string().min(1).optional(),
});

/** Hangs up without a word: the client sees a socket error and cannot tell what happened. */
function destroySocket(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.hijack();
  request.raw.socket.destroy();
  return reply;
}

const GATEWAY_TITLES = { 502: '502 Bad Gateway', 504: '504 Gateway Time-out' } as const;

/** What a load balancer in front of PixelByte answers on its own: an HTML page, nothing of PixelByte's shape. */
function gatewayError(reply: FastifyReply, status: 502 | 504): FastifyReply {
  const title = GATEWAY_TITLES[status];
  return reply
    .code(status)
    .type('text/html')
    .send(
      `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
    );
}

/** PixelByte's job API under /v1, bearer-authenticated. */
export function jobRoutes(ctx: SimulatorContext) {
  const ok = (request: FastifyRequest, data: object) => (ctx.options.envelope === 'wrapped' ? { success: true, data, requestId: request.id } : data);

  return async function routes(v1: FastifyInstance): Promise<void> {
    requireApiKey(v1, ctx.options.apiKeys);

    v1.post('/jobs/submit', async (request, reply) => {
      const apiKey = apiKeyOf(request);
      const plan = ctx.faults.planSubmit();
      const interception = plan.interception;
      if (interception.kind === 'error') {
        throw new SimError(
          interception.status,
          interception.code,
          interception.message ?? `Simulated ${interception.code}`,
          interception.retryAfter === undefined ? null : { retryAfter: interception.retryAfter },
        );
      }
      if (interception.kind === 'drop') return destroySocket(request, reply);
      if (interception.kind === 'gateway-error' && !interception.jobCreated) return gatewayError(reply, interception.status);
      if (interception.kind === 'slow') await ctx.timers.sleep(interception.delayMs);

      const job = acceptSubmit(ctx, { apiKey, requestId: request.id, body: request.body, plan });
      const estimated = new Date(job.createdAt.getTime() + ctx.options.pendingMs + ctx.options.processingMs);
      // 'early': the job finishes and its webhook is delivered before this response is written.
      if (job.webhookMode === 'early') await ctx.lifecycle.finishNow(job);
      if (interception.kind === 'accept-then-drop') return destroySocket(request, reply);
      if (interception.kind === 'accept-then-slow') await ctx.timers.sleep(interception.delayMs);
      if (interception.kind === 'gateway-error') return gatewayError(reply, interception.status);
      return ok(request, submitView(job, estimated));
    });

    v1.get('/jobs/:jobId', async (request) => {
      const { jobId } = jobParams.parse(request.params);
      const job = ctx.store.find(apiKeyOf(request), jobId);
      if (!job) throw jobNotFound(jobId);
      return ok(request, jobView(job, ctx.baseUrl()));
    });

    v1.get('/jobs', async (request) => {
      const parsed = listQuery.safeParse(request.query);
      if (!parsed.success) throw invalidInput('Query is invalid', issuesOf(parsed.error, ['query']));
      const { cursor } = parsed.data;
      if (cursor !== undefined && Number.isNaN(decodeCursor(cursor))) {
        throw invalidInput('Query is invalid', [{ path: 'query.cursor', message: 'is not a cursor this API returned' }]);
      }
      const page = ctx.store.list({ apiKey: apiKeyOf(request), ...parsed.data });
      return ok(request, { jobs: page.jobs.map(listItemView), nextCursor: page.nextCursor, hasMore: page.hasMore });
    });

    v1.post('/jobs/:jobId/cancel', async (request) => {
      const { jobId } = jobParams.parse(request.params);
      const job = ctx.store.find(apiKeyOf(request), jobId);
      if (!job) throw jobNotFound(jobId);
      if (!ctx.lifecycle.cancel(job)) {
        throw new SimError(400, 'JOB_CANNOT_BE_CANCELLED', `Job ${jobId} is ${job.status}; only pending jobs can be cancelled`);
      }
      // Meanwhile the job reads as cancelled to anyone who asks: a status poll can learn of it before the canceller does.
      await ctx.timers.sleep(ctx.faults.switches.cancelResponseDelayMs ?? 0);
      return ok(request, { jobId, status: 'cancelled', refundedMicroCents: job.costMicroCents });
    });
  };
}

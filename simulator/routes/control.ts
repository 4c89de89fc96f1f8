import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimulatorContext } from '../context.js';
import { invalidInput } from '../errors.js';
import { jobView } from '../jobViews.js';
import { issuesOf } from '../submit.js';
import { submitBehaviourSchema, switchesPatchSchema } from '../types.js';

const nextSubmitBody = z.strictObject({ behaviours: z.array(submitBehaviourSchema).min(1) });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw invalidInput('Body is invalid', issuesOf(parsed.error));
  return parsed.data;
}

/** The simulator's own control plane under /__sim, for tests and local runs driving it from another process. */
export function controlRoutes(ctx: SimulatorContext) {
  return async function routes(sim: FastifyInstance): Promise<void> {
    sim.post('/config', async (request) => {
      ctx.faults.configure(parse(switchesPatchSchema, request.body));
      return { switches: ctx.faults.switches };
    });

    sim.post('/next-submit', async (request) => {
      ctx.faults.enqueue(parse(nextSubmitBody, request.body).behaviours);
      return { queued: ctx.faults.queue };
    });

    sim.post('/reset', async () => {
      ctx.reset();
      return { reset: true };
    });

    sim.get('/state', async () => ({
      switches: ctx.faults.switches,
      queued: ctx.faults.queue,
      stats: ctx.stats(),
      jobs: [...ctx.store.jobs.values()].map((job) => ({
        ...jobView(job, ctx.baseUrl()),
        model: job.model,
        costMicroCents: job.costMicroCents,
        webhookUrl: job.webhookUrl,
        webhookMode: job.webhookMode,
      })),
      deliveries: ctx.deliveries.map(({ rawBody: _rawBody, ...delivery }) => delivery),
      uploads: [...ctx.uploads.uploads.values()].map(({ bytes, token: _token, ...upload }) => ({ ...upload, bytes: bytes?.length ?? null })),
    }));
  };
}

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, errorBody, errorResponses } from '../../errors.js';
import { withTimeout } from '../../infra/timeout.js';

export interface ReadinessProbe {
  name: string;
  check(): Promise<unknown>;
}

export interface HealthRoutesOptions {
  probes: ReadinessProbe[];
}

const PROBE_TIMEOUT_MS = 2_000;

const probeState = z.enum(['ok', 'unavailable']);
const liveness = z.object({ status: z.literal('ok') });
const readiness = z.object({ status: z.literal('ready'), checks: z.record(z.string(), probeState) });

export const healthRoutes: FastifyPluginAsyncZod<HealthRoutesOptions> = async (app, { probes }) => {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'liveness',
        summary: 'The process is up',
        tags: ['operations'],
        'x-error-codes': [],
        'x-returns': 'Up',
        response: { 200: liveness, ...errorResponses },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  // 503 names every dependency's state in `details`.
  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'readiness',
        summary: 'Postgres and Redis answer',
        tags: ['operations'],
        'x-error-codes': ['NOT_READY'],
        'x-returns': 'Ready',
        response: { 200: readiness, ...errorResponses },
      },
    },
    async (_request, reply) => {
      const results = await Promise.all(
        probes.map(async (probe) => {
          try {
            await withTimeout(probe.check(), PROBE_TIMEOUT_MS, probe.name);
            return [probe.name, 'ok'] as const;
          } catch {
            return [probe.name, 'unavailable'] as const;
          }
        }),
      );
      const checks = Object.fromEntries(results);
      if (results.every(([, state]) => state === 'ok')) return { status: 'ready' as const, checks };
      return reply.status(503).send(errorBody(new AppError('NOT_READY', 'A dependency is unavailable', checks)));
    },
  );
};

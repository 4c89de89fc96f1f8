import type { FastifyInstance } from 'fastify';
import { withTimeout } from '../infra/timeout.js';

export interface ReadinessProbe {
  name: string;
  check(): Promise<unknown>;
}

const PROBE_TIMEOUT_MS = 2_000;

export function healthRoutes(app: FastifyInstance, probes: ReadinessProbe[]): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
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
    if (results.every(([, state]) => state === 'ok')) return { status: 'ready', checks };
    return reply.status(503).send({ statusCode: 503, code: 'NOT_READY', error: 'Service Unavailable', message: 'A dependency is unavailable', details: checks });
  });
}

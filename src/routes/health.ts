import type { FastifyInstance } from 'fastify';

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
          await withTimeout(probe.check(), PROBE_TIMEOUT_MS);
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

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

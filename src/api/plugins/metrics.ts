import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, unauthorized } from '../../errors.js';
import type { RelayMetrics } from '../../metrics/relayMetrics.js';
import { WEBHOOK_PATH_PREFIX } from '../../upstream/webhookUrl.js';

export interface MetricsPluginOptions {
  metrics: RelayMetrics;
  /** METRICS_TOKEN: when set, GET /metrics wants it as a bearer token; unset, /metrics is open. */
  token?: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** What a webhook answer says happened, as the intake counter labels it. */
function webhookResult(statusCode: number, payload: unknown): { result: 'applied' | 'duplicate' | 'stored' | 'refused'; code?: string } {
  const body = (payload ?? {}) as { applied?: unknown; duplicate?: unknown; code?: unknown };
  if (statusCode >= 400) return { result: 'refused', code: typeof body.code === 'string' ? body.code : String(statusCode) };
  if (body.duplicate === true) return { result: 'duplicate' };
  return { result: body.applied === true ? 'applied' : 'stored' };
}

/**
 * Prometheus metrics: GET /metrics, and the hooks that time every request and count PixelByte's webhooks.
 * Breaks encapsulation (fastify-plugin) so its hooks see every route of the app.
 */
export const metricsPlugin = fp(
  async (app: FastifyInstance, { metrics, token }: MetricsPluginOptions) => {
    app.addHook('onResponse', async (request, reply) => {
      metrics.observeHttpRequest(request.method, request.routeOptions.url ?? '(unmatched)', reply.statusCode, reply.elapsedTime / 1000);
    });

    // The answer object, before it is serialized: the one place that sees both a receipt and a refusal's code.
    app.addHook('preSerialization', async (request, reply, payload) => {
      if (request.routeOptions.url?.startsWith(`${WEBHOOK_PATH_PREFIX}/`)) {
        const { result, code } = webhookResult(reply.statusCode, payload);
        metrics.countWebhook(result, code);
      }
      return payload;
    });

    const expected = token === undefined ? undefined : digest(token);
    app.withTypeProvider<ZodTypeProvider>().get(
      '/metrics',
      {
        schema: {
          operationId: 'metrics',
          summary: 'Prometheus metrics',
          tags: ['operations'],
          // `{}`: no credentials is an option too (METRICS_TOKEN unset).
          security: [{ metricsToken: [] }, {}],
          'x-error-codes': ['UNAUTHORIZED'],
          headers: z.object({ authorization: z.string().optional() }),
          response: {
            200: {
              description: 'The Prometheus text exposition format (version 0.0.4)',
              content: { 'text/plain': { schema: z.string() } },
            },
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        if (expected) {
          const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
          if (!match || !timingSafeEqual(digest(match[1]!), expected)) throw unauthorized('Send Authorization: Bearer <METRICS_TOKEN>');
        }
        return reply.type(metrics.contentType).send(await metrics.render());
      },
    );
  },
  { name: 'metrics', fastify: '5.x', dependencies: ['error-handler'] },
);

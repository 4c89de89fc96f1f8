import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../../errors.js';
import { type UsageReport, usageQuery, usageRange, usageReport } from '../../../store/clients/usage.js';

const usageWithBudget = usageReport.extend({
  dailyBudgetMicroCents: z.number().int().nullable().describe('The client’s daily budget (UTC days) as it is now; null: none'),
});

export interface UsageRoutesOptions {
  usageOf(clientId: string, range: { from: string; to: string }): Promise<UsageReport>;
}

/** GET /v1/usage: the calling client's own spend by UTC day and model. Inside the /v1 scope, behind bearer auth. */
export const usageRoutes: FastifyPluginAsyncZod<UsageRoutesOptions> = async (app, { usageOf }) => {
  app.get(
    '/usage',
    {
      schema: {
        operationId: 'getUsage',
        summary: 'This client’s usage',
        tags: ['clients'],
        'x-error-codes': ['INVALID_INPUT', 'DATABASE_UNAVAILABLE'],
        'x-returns': 'The usage',
        querystring: usageQuery,
        response: { 200: usageWithBudget, ...errorResponses },
      },
    },
    async (request) => {
      const report = await usageOf(request.clientId, usageRange(request.query));
      return { ...report, dailyBudgetMicroCents: request.client.dailyBudgetMicroCents };
    },
  );
};

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../errors.js';
import { DOCS_PREFIX } from '../plugins/openapi.js';

const apiIndex = z.object({
  name: z.literal('pixelrelay'),
  docs: z.literal(DOCS_PREFIX).describe('The interactive reference (Swagger UI)'),
  openapi: z.literal(`${DOCS_PREFIX}/json`).describe(`This document, as JSON; \`${DOCS_PREFIX}/yaml\` serves it as YAML`),
});

/**
 * GET /: where the reference is, for whoever opens the server's bare address. JSON rather than a redirect, so a
 * script finds the document as readily as a person finds the page.
 */
export const apiIndexRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/',
    {
      schema: {
        operationId: 'apiIndex',
        summary: 'Where the API reference is',
        tags: ['reference'],
        'x-error-codes': [],
        'x-returns': 'The URLs of the interactive reference and of this document',
        response: { 200: apiIndex, ...errorResponses },
      },
    },
    async () => ({ name: 'pixelrelay', docs: DOCS_PREFIX, openapi: `${DOCS_PREFIX}/json` }) as const,
  );
};

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../errors.js';
import { CONSOLE_PREFIX } from '../console/consolePlugin.js';
import { DOCS_PREFIX } from '../plugins/openapi.js';

const apiIndex = z.object({
  name: z.literal('pixelrelay'),
  docs: z.literal(DOCS_PREFIX).describe('The interactive reference (Swagger UI)'),
  openapi: z.literal(`${DOCS_PREFIX}/json`).describe(`This document, as JSON; \`${DOCS_PREFIX}/yaml\` serves it as YAML`),
  console: z.literal(CONSOLE_PREFIX).describe('The web console: edits with their images, history and cost'),
});

/**
 * GET /: where the reference and the console are, for whoever opens the server's bare address. JSON for a script;
 * a browser (which asks for text/html) is sent on to the console.
 */
export const apiIndexRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/',
    {
      schema: {
        operationId: 'apiIndex',
        summary: 'Where the API reference and the console are',
        description: 'A request that accepts `text/html` (a browser) is redirected (302) to the console.',
        tags: ['reference'],
        'x-error-codes': [],
        'x-returns': 'The URLs of the interactive reference and of this document',
        response: { 200: apiIndex, ...errorResponses },
      },
    },
    async (request, reply) => {
      if ((request.headers.accept ?? '').includes('text/html')) return reply.redirect(CONSOLE_PREFIX);
      return { name: 'pixelrelay', docs: DOCS_PREFIX, openapi: `${DOCS_PREFIX}/json`, console: CONSOLE_PREFIX } as const;
    },
  );
};

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { allModels } from '../../../catalog/models.js';
import { modelList, modelNotFound, modelResource, toModelResource } from '../../../catalog/resource.js';
import { errorResponses } from '../../../errors.js';
import { modelExample, modelListExample } from '../../openapi/examples.js';

/**
 * The edit models pixelrelay offers. Registered inside the /v1 scope, behind bearer auth. Slugs contain slashes
 * (`google/nano-banana/edit-image`), so a model's URL is a wildcard: the slug as is, or percent-encoded.
 */
export const modelRoutes: FastifyPluginAsyncZod = async (app) => {
  // Built once: the catalog does not change while the process runs.
  const resources = allModels().map(toModelResource);
  const bySlug = new Map(resources.map((m) => [m.slug, m]));

  app.get(
    '/models',
    {
      schema: {
        operationId: 'listModels',
        summary: 'The edit models, their input schemas and prices',
        tags: ['models'],
        'x-error-codes': [],
        'x-returns': 'Every model',
        'x-response-example': modelListExample(),
        querystring: z.strictObject({}),
        response: { 200: modelList, ...errorResponses },
      },
    },
    async () => ({ models: resources }),
  );

  app.get(
    '/models/*',
    {
      schema: {
        operationId: 'getModel',
        summary: 'One edit model',
        description: 'The slug contains slashes; send it as is (`/v1/models/google/nano-banana/edit-image`) or percent-encoded.',
        tags: ['models'],
        'x-error-codes': ['MODEL_NOT_FOUND'],
        'x-returns': 'The model',
        'x-response-example': modelExample(),
        'x-wildcard': 'slug',
        params: z.object({ '*': z.string().describe('The model’s slug, slashes and all, e.g. `google/nano-banana/edit-image`') }),
        querystring: z.strictObject({}),
        response: { 200: modelResource, ...errorResponses },
      },
    },
    async (request) => {
      const slug = request.params['*'];
      const model = bySlug.get(slug);
      if (!model) throw modelNotFound(slug);
      return model;
    },
  );
};

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { allModels } from '../../../catalog/models.js';
import { modelList, modelNotFound, modelResource, toModelResource } from '../../../catalog/resource.js';
import { errorResponses } from '../../../errors.js';

/** The wildcard's name in Fastify; the OpenAPI document calls it `slug` (plugins/openapi.ts). */
export const MODEL_SLUG_PARAM = '*';

/**
 * The edit models pixelrelay offers. Registered inside the /v1 scope, behind bearer auth. Slugs contain slashes
 * (`google/nano-banana/edit-image`), so a model's URL is a wildcard: the slug as is, or percent-encoded.
 */
export const modelRoutes: FastifyPluginAsyncZod = async (app) => {
  // Built once: the catalog does not change while the process runs.
  const resources = allModels().map(toModelResource);
  const bySlug = new Map(resources.map((m) => [m.slug, m]));

  app.get('/models', { schema: { querystring: z.strictObject({}), response: { 200: modelList, ...errorResponses } } }, async () => ({
    models: resources,
  }));

  app.get(
    '/models/*',
    { schema: { params: z.object({ [MODEL_SLUG_PARAM]: z.string() }), querystring: z.strictObject({}), response: { 200: modelResource, ...errorResponses } } },
    async (request) => {
      const slug = request.params[MODEL_SLUG_PARAM];
      const model = bySlug.get(slug);
      if (!model) throw modelNotFound(slug);
      return model;
    },
  );
};

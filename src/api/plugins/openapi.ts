import { readFileSync } from 'node:fs';
import swagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../../errorCatalog.js';
import { errorBodySchema } from '../../errors.js';
import { webhookPayload } from '../../upstream/schemas.js';
import { errorCodesOf, OPERATIONS, SECURITY_SCHEMES, scopeOf } from '../openapi/operations.js';
import { MODEL_SLUG_PARAM } from '../routes/v1/models.js';

/** Where the interactive reference lives; `${DOCS_PREFIX}/json` and `/yaml` serve the document. */
export const DOCS_PREFIX = '/docs';

type Transform = NonNullable<FastifyDynamicSwaggerOptions['transform']>;
type JsonSchema = Record<string, unknown>;

const toJson = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });
  return json;
};

/** The one error body, with `code` narrowed to the codes of one status: a generated client can switch on it. */
function errorResponse(status: number, codes: ErrorCode[]): JsonSchema {
  const body = toJson(errorBodySchema, 'output') as JsonSchema & { properties: JsonSchema };
  return {
    ...body,
    properties: { ...body.properties, statusCode: { type: 'integer', const: status }, code: { type: 'string', enum: codes } },
    'x-response-description': codes.map((code) => `\`${code}\`: ${ERROR_CODES[code].when}`).join('. '),
  };
}

const example = (value: unknown, summary: string) => ({ 'x-examples': { example: { summary, value } } });
const camel = (words: string[]) => words.map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))).join('');

/**
 * Adds to each route's schemas (already turned into JSON Schema by the zod provider) what the reference needs
 * besides: an operationId, summary and tag; who may call it; every error code it can answer, each status with its
 * codes as an enum and the whole list as `x-error-codes`; examples; and the slug, not `*`, for the model URL.
 */
const documentRoute: Transform = (document) => {
  const { schema, url } = jsonSchemaTransform(document) as { schema: JsonSchema; url: string };
  if (schema.hide) return { schema, url };
  const method = String(document.route.method);
  const operation = OPERATIONS[`${method} ${url}`];
  const out: JsonSchema = { ...schema };

  out.operationId = operation?.operationId ?? camel([method.toLowerCase(), ...url.split(/[^A-Za-z0-9]+/).filter(Boolean)]);
  if (operation) {
    out.summary = operation.summary;
    if (operation.description) out.description = operation.description;
    out.tags = [operation.tag];
  }
  const { security } = scopeOf(url);
  if (security.length > 0) out.security = security;

  // PixelByte's webhook is read as raw text (its signature covers the bytes), so it has no body schema to show.
  if (url.startsWith('/webhooks/')) out.body = toJson(webhookPayload, 'input');
  const readsJsonBody = out.body !== undefined;
  const codes = errorCodesOf(method, url, readsJsonBody);
  out['x-error-codes'] = codes.map((code) => ERROR_CODES[code]);

  const responses: Record<string, JsonSchema> = {};
  for (const [status, response] of Object.entries((schema.response ?? {}) as Record<string, JsonSchema>)) {
    if (!/^[45]xx$/i.test(status)) responses[status] = { ...response };
  }
  for (const status of [...new Set(codes.map((code) => ERROR_CODES[code].status))].sort((a, b) => a - b)) {
    responses[String(status)] = errorResponse(
      status,
      codes.filter((code) => ERROR_CODES[code].status === status),
    );
  }
  // Errors this document does not list for the route still come in the one shape.
  responses['4XX'] = {
    ...toJson(errorBodySchema, 'output'),
    'x-response-description': 'Any other client error (e.g. 404 `ROUTE_NOT_FOUND`), in the one error shape',
  };
  responses['5XX'] = { ...toJson(errorBodySchema, 'output'), 'x-response-description': 'Any other server error, in the one error shape' };

  const success = Object.keys(responses).find((status) => /^2\d\d$/.test(status));
  if (operation && success) {
    // A response given with its content types (GET /metrics) carries its own description.
    if (!responses[success]!.content) responses[success]!['x-response-description'] = operation.returns;
    if (operation.responseExample) Object.assign(responses[success]!, example(operation.responseExample(), 'From the README’s first session'));
  }
  if (operation?.requestExample && out.body)
    out.body = { ...(out.body as JsonSchema), ...example(operation.requestExample(), 'From the README’s first session') };
  out.response = responses;

  if (url.endsWith(`/${MODEL_SLUG_PARAM}`)) {
    // Fastify's wildcard is `*`; a client generator wants a name.
    out.params = {
      type: 'object',
      properties: { slug: { type: 'string', description: 'The model’s slug, slashes and all, e.g. `google/nano-banana/edit-image`' } },
      required: ['slug'],
    };
    return { schema: out, url: `${url.slice(0, -1)}:slug` };
  }
  return { schema: out, url };
};

function packageVersion(): string {
  try {
    return String(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version);
  } catch {
    return '0.0.0';
  }
}

/**
 * The OpenAPI 3.1 document, generated from the route schemas: `/docs/json`, `/docs/yaml`, and Swagger UI at `/docs`
 * (served from this process, no CDN). Registered before the routes: @fastify/swagger collects them as they are added.
 */
export const openapi = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'pixelrelay',
          version: packageVersion(),
          description:
            'A reliable relay between your services and PixelByte’s asynchronous AI image-edit API. Money is integer micro-cents (1,000,000 = $1). Every error is `{ statusCode, code, error, message, details? }` with a stable `code`; each operation lists its codes under `x-error-codes`.',
        },
        components: { securitySchemes: SECURITY_SCHEMES },
        tags: [
          { name: 'edits', description: 'Image edits: accept, price, read, list, cancel' },
          { name: 'models', description: 'PixelByte’s edit models, their inputs and prices' },
          { name: 'callbacks', description: 'Callbacks to your callbackUrl' },
          { name: 'clients', description: 'What a client has used' },
          { name: 'admin', description: 'Clients and API keys (ADMIN_TOKEN)' },
          { name: 'pixelbyte', description: 'Called by PixelByte' },
          { name: 'operations', description: 'Health and metrics' },
        ],
      },
      transform: documentRoute,
      transformObject: jsonSchemaTransformObject,
    });
    await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
  },
  { name: 'openapi', fastify: '5.x' },
);

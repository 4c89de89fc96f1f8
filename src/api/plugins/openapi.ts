import { readFileSync } from 'node:fs';
import swagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ANY_BODY, ANY_REQUEST, ERROR_CODES, type ErrorCode } from '../../errorCatalog.js';
import { errorBodySchema } from '../../errors.js';
import { SECURITY_SCHEMES } from '../openapi/routeDocs.js';

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

const example = (value: unknown) => ({ 'x-examples': { example: { summary: 'From the README’s first session', value } } });

/** A route's schema once the zod provider has turned its schemas into JSON Schema; the rest as the route wrote it. */
type RouteSchema = FastifySchema & { response?: Record<string, JsonSchema>; body?: JsonSchema; params?: JsonSchema; [key: string]: unknown };

/**
 * Puts together what each route says of itself (summary, tags, operationId, security, its own error codes,
 * examples: see openapi/routeDocs.ts) with what its scope's guards said (`documentScope`) and what holds for
 * every route: all the error codes it can answer, each status with its codes as an enum and the whole list as
 * `x-error-codes`, and the one error shape for any other.
 */
const documentRoute: Transform = (document) => {
  const { schema, url } = jsonSchemaTransform(document) as { schema: RouteSchema; url: string };
  if (schema.hide) return { schema, url };
  const {
    'x-error-codes': own = [],
    'x-scope-error-codes': guarded = [],
    'x-returns': returns,
    'x-request-example': requestExample,
    'x-response-example': responseExample,
    'x-raw-body': rawBody,
    'x-body-content': bodyContent,
    'x-wildcard': wildcard,
    'x-response-headers': responseHeaders,
    'x-events': events,
    ...out
  } = schema;

  if (rawBody) out.body = toJson(rawBody, 'input');
  const jsonBody = out.body !== undefined;
  if (bodyContent) {
    out.body = { content: Object.fromEntries(Object.entries(bodyContent).map(([type, body]) => [type, { schema: toJson(body, 'input') }])) };
  }
  const codes = [...new Set([...guarded, ...own, ...(jsonBody ? ANY_BODY : []), ...ANY_REQUEST])];
  out['x-error-codes'] = codes.map((code) => ERROR_CODES[code]);

  const responses: Record<string, JsonSchema> = {};
  for (const [status, response] of Object.entries(schema.response ?? {})) {
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
  if (success) {
    // A response given with its content types (GET /metrics) carries its own description.
    if (returns !== undefined && !responses[success]!.content) responses[success]!['x-response-description'] = returns;
    if (responseExample !== undefined) Object.assign(responses[success]!, example(responseExample));
  }
  for (const [status, headers] of Object.entries(responseHeaders ?? {})) {
    const response = responses[status];
    if (!response) continue;
    // @fastify/swagger makes `headers` of a response schema the response's headers.
    response.headers = Object.fromEntries(Object.entries(headers).map(([name, description]) => [name, { type: 'string', description }]));
  }
  const stream = events && (responses['200']?.content as Record<string, JsonSchema> | undefined)?.['text/event-stream'];
  if (events && stream) {
    stream['x-events'] = Object.entries(events).map(([name, event]) => ({
      event: name,
      description: event.description,
      ...(event.id ? { id: event.id } : {}),
      data: toJson(event.data, 'output'),
    }));
  }
  if (requestExample !== undefined && out.body) out.body = { ...out.body, ...example(requestExample) };
  out.response = responses;

  if (wildcard && url.endsWith('/*') && out.params) {
    const { properties = {}, required = [] } = out.params as { properties?: JsonSchema; required?: string[] };
    const { '*': param, ...named } = properties;
    out.params = { ...out.params, properties: { ...named, [wildcard]: param }, required: required.map((name) => (name === '*' ? wildcard : name)) };
    return { schema: out, url: `${url.slice(0, -1)}:${wildcard}` };
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
          { name: 'uploads', description: 'Source images, put on PixelByte’s storage for edits to name as `upload:<id>`' },
          { name: 'callbacks', description: 'Callbacks to your callbackUrl' },
          { name: 'clients', description: 'What a client has used' },
          { name: 'admin', description: 'Clients, API keys and every client’s edits (ADMIN_TOKEN)' },
          { name: 'pixelbyte', description: 'Called by PixelByte' },
          { name: 'operations', description: 'Health and metrics' },
          { name: 'reference', description: 'Where this document and the interactive reference are served' },
        ],
      },
      transform: documentRoute,
      transformObject: jsonSchemaTransformObject,
    });
    await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
  },
  { name: 'openapi', fastify: '5.x' },
);

import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { ErrorCode } from '../../errorCatalog.js';

/** The security schemes of the document (components.securitySchemes). */
export const SECURITY_SCHEMES = {
  apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: one of API_KEYS, or a client key made with POST /admin/clients/{id}/keys' },
  adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN (the /admin routes exist only when it is set)' },
  metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when it is set; /metrics is open otherwise' },
  pixelbyteSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'X-PixelByte-Signature',
    description:
      '`sha256=<hex HMAC-SHA256 of "<X-PixelByte-Timestamp>.<raw body>", keyed by PIXELBYTE_WEBHOOK_SECRET>`, with `X-PixelByte-Timestamp` (Unix seconds) within ±300 s. The URL also carries the edit’s token.',
  },
} as const;

/** One way to be let in: each named scheme, all of them; `{}` is none at all. */
export type SecurityRequirement = Partial<Record<keyof typeof SECURITY_SCHEMES, readonly string[]>>;

/**
 * What a route says of itself for the API reference, beside the keys OpenAPI and @fastify/swagger know
 * (`operationId`, `summary`, `description`, `tags`, `security`). plugins/openapi.ts reads these and leaves none of
 * them in the document but `x-error-codes`, which it rewrites whole.
 */
declare module 'fastify' {
  interface FastifySchema {
    /** The codes the route answers itself. Its scope's, a JSON body's and any request's are added by the document. */
    'x-error-codes'?: readonly ErrorCode[];
    /** Codes answered before the handler by what guards the route's scope: written by `documentScope`, not by routes. */
    'x-scope-error-codes'?: readonly ErrorCode[];
    /** What the success answer is: that response's description. */
    'x-returns'?: string;
    /** An example of the body, and one of the success answer, from the README's first session (openapi/examples.ts). */
    'x-request-example'?: unknown;
    'x-response-example'?: unknown;
    /** For a route that reads its body as raw bytes and so declares no `body`: the body as the reference shows it. */
    'x-raw-body'?: z.ZodType;
    /**
     * For a route that reads a body of other types than JSON (multipart/form-data, an image) as a stream: the body the
     * reference shows for each content type. Such a body meets none of a JSON body's errors: the route names its own.
     */
    'x-body-content'?: Record<string, z.ZodType>;
    /** The name the reference gives Fastify's `*` wildcard, which a client generator cannot use. */
    'x-wildcard'?: string;
    /** Headers a success answer carries, by status: name → what it says. */
    'x-response-headers'?: Record<string, Record<string, string>>;
    /**
     * A `text/event-stream` answer's events, by name: each one's `data:` shape. The document lists them on the
     * stream's media type as `x-events` (OpenAPI 3.1 has no way to say what each event of a stream holds).
     */
    'x-events'?: Record<string, { description: string; data: z.ZodType; id?: string }>;
  }
}

/**
 * For a guard (an auth or rate-limit plugin, lifted into the scope it protects by fastify-plugin) to document
 * itself on every route registered after it in that scope: who may call, and what the guard answers instead of
 * the route. Routes and guards each say their own part; the document puts them together.
 */
export function documentScope(app: FastifyInstance, guard: { security?: SecurityRequirement[]; errors: readonly ErrorCode[] }): void {
  app.addHook('onRoute', (route) => {
    const schema = route.schema ?? {};
    route.schema = {
      ...schema,
      ...(guard.security && { security: [...(schema.security ?? []), ...guard.security] }),
      'x-scope-error-codes': [...(schema['x-scope-error-codes'] ?? []), ...guard.errors],
    };
  });
}

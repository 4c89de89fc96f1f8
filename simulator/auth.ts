import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SimError } from './errors.js';

const apiKeys = new WeakMap<FastifyRequest, string>();

/** PixelByte's bearer check on every route of `scope` (an encapsulated plugin): the key each request came with is kept for `apiKeyOf`. */
export function requireApiKey(scope: FastifyInstance, keys: readonly string[]): void {
  scope.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) throw new SimError(401, 'UNAUTHORIZED', 'Missing or malformed Authorization: Bearer header');
    if (!keys.includes(match[1])) throw new SimError(401, 'INVALID_API_KEY', 'Invalid API key');
    apiKeys.set(request, match[1]);
  });
}

/** The API key a request under `requireApiKey` presented: jobs and uploads belong to it. */
export function apiKeyOf(request: FastifyRequest): string {
  const key = apiKeys.get(request);
  if (key === undefined) throw new SimError(401, 'UNAUTHORIZED', 'Missing bearer token');
  return key;
}

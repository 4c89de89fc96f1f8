import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { unauthorized } from '../errors.js';
import { clientIdOf } from '../edits/service.js';

declare module 'fastify' {
  interface FastifyRequest {
    clientId: string;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Requires `Authorization: Bearer <one of API_KEYS>` on every route of the scope it is added to.
 * Keys are compared as digests in constant time, so neither a key's length nor its prefix leaks.
 */
export function requireBearerToken(app: FastifyInstance, apiKeys: string[]): void {
  const accepted = apiKeys.map(digest);
  app.decorateRequest('clientId', '');
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw unauthorized('Send Authorization: Bearer <api key>');
    const given = digest(match[1]!);
    let ok = false;
    for (const key of accepted) ok = timingSafeEqual(key, given) || ok;
    if (!ok) throw unauthorized('The bearer token is not valid');
    request.clientId = clientIdOf(match[1]!);
  });
}

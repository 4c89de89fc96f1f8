import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { unauthorized } from '../errors.js';
import { clientIdOf } from '../shared/ids.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request, named by a fingerprint of its bearer token (shared/ids.ts). */
    clientId: string;
  }
}

export interface BearerAuthOptions {
  /** API_KEYS: the tokens accepted. */
  apiKeys: string[];
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Requires `Authorization: Bearer <one of API_KEYS>` on every route of the scope that registers it, and no
 * other: fastify-plugin lifts the hook and `request.clientId` one level, into that scope (the /v1 routes),
 * whose own encapsulation keeps them from the health checks and PixelByte's webhook.
 * Keys are compared as digests in constant time, so neither a key's length nor its prefix leaks.
 */
export const bearerAuth = fp(
  async (app: FastifyInstance, opts: BearerAuthOptions) => {
    const accepted = opts.apiKeys.map(digest);
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
  },
  // Its 401 carries WWW-Authenticate, which only our error handler writes.
  { name: 'bearer-auth', fastify: '5.x', dependencies: ['error-handler'] },
);

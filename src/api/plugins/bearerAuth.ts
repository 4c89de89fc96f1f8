import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Caller } from '../../engine/clients/clientService.js';
import { AppError, unauthorized } from '../../errors.js';
import { clientIdOf } from '../../shared/ids.js';
import { documentScope } from '../openapi/routeDocs.js';
import type { AuthFailureLimit } from './rateLimit.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request: what Edit.clientId holds for its edits (`client.id`). */
    clientId: string;
    /** The caller its key resolved to, with the budget and rate limit it has now. */
    client: Caller;
  }
}

export interface BearerAuthOptions {
  /** API_KEYS: bootstrap keys, each its own client without budget or rate limit. */
  apiKeys: string[];
  /** Resolves any other key (a registered client's); null when it is unknown or revoked. */
  findCaller?(apiKey: string): Promise<Caller | null>;
  /** Counts each address's failed keys, and refuses an address past its limit before `findCaller` is asked. */
  failures?: AuthFailureLimit;
}

const tooManyFailures = (retryAfterSeconds: number) =>
  new AppError(
    'TOO_MANY_AUTH_FAILURES',
    `Too many invalid API keys from this address; retry in ${retryAfterSeconds} seconds`,
    { retryAfterSeconds },
    { 'retry-after': String(retryAfterSeconds) },
  );

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Requires `Authorization: Bearer <key>` on every route of the scope that registers it, and no other:
 * fastify-plugin lifts the hook and `request.client` one level, into that scope (the /v1 routes), whose own
 * encapsulation keeps them from the health checks and PixelByte's webhook.
 * Bootstrap keys are compared as digests in constant time, so neither a key's length nor its prefix leaks;
 * any other key is asked of `findCaller` on every request (no cache: a revocation holds at once), unless its
 * address has presented too many invalid keys lately (`failures`): then 429 TOO_MANY_AUTH_FAILURES, unasked.
 */
export const bearerAuth = fp(
  async (app: FastifyInstance, opts: BearerAuthOptions) => {
    const bootstrap = opts.apiKeys.map((key) => ({
      digest: digest(key),
      caller: { id: clientIdOf(key), kind: 'bootstrap', dailyBudgetMicroCents: null, rateLimitPerMinute: null, maxQueued: null } satisfies Caller,
    }));
    documentScope(app, { security: [{ apiKey: [] }], errors: opts.failures ? ['UNAUTHORIZED', 'TOO_MANY_AUTH_FAILURES'] : ['UNAUTHORIZED'] });
    app.decorateRequest('clientId', '');
    app.decorateRequest('client', null as unknown as Caller);
    app.addHook('onRequest', async (request: FastifyRequest) => {
      const header = request.headers.authorization;
      const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      if (!match) throw unauthorized('Send Authorization: Bearer <api key>');
      const given = digest(match[1]!);
      let caller: Caller | null = null;
      for (const key of bootstrap) if (timingSafeEqual(key.digest, given)) caller = key.caller;
      if (!caller) {
        // A bootstrap key costs no lookup, so only the others are held back once an address has failed too often.
        const wait = await opts.failures?.blockedFor(request.ip);
        if (typeof wait === 'number') throw tooManyFailures(wait);
        caller = (await opts.findCaller?.(match[1]!)) ?? null;
      }
      if (!caller) {
        await opts.failures?.recordFailure(request.ip);
        throw unauthorized('The bearer token is not valid');
      }
      request.client = caller;
      request.clientId = caller.id;
    });
  },
  // Its 401 carries WWW-Authenticate, which only our error handler writes.
  { name: 'bearer-auth', fastify: '5.x', dependencies: ['error-handler'] },
);

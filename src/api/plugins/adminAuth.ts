import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, errorBody } from '../../errors.js';
import { documentScope } from '../openapi/routeDocs.js';

export interface AdminAuthOptions {
  /** ADMIN_TOKEN. */
  token: string;
  /**
   * Also accept HTTP Basic with the token as the password (any user name), and challenge with Basic, so a
   * browser can open the page. Off: bearer only, as the admin API wants.
   */
  basic?: boolean;
}

export const ADMIN_REALM = 'pixelrelay admin';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The secret a request presents: the bearer token, or (when allowed) the password of its Basic credentials. */
function presented(request: FastifyRequest, basic: boolean): string | null {
  const header = request.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1]!;
  const credentials = basic ? /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header) : null;
  if (!credentials) return null;
  const decoded = Buffer.from(credentials[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? null : decoded.slice(colon + 1);
}

/**
 * Requires ADMIN_TOKEN on every route of the scope that registers it (fastify-plugin lifts the hook into that
 * scope only). Compared as digests in constant time, so neither the token's length nor its prefix leaks.
 */
export const adminAuth = fp(
  async (app: FastifyInstance, opts: AdminAuthOptions) => {
    documentScope(app, { security: [{ adminToken: [] }], errors: ['UNAUTHORIZED'] });
    const expected = digest(opts.token);
    const basic = opts.basic ?? false;
    const challenge = basic ? `Basic realm="${ADMIN_REALM}", charset="UTF-8"` : 'Bearer';
    const refusal = new AppError(
      'UNAUTHORIZED',
      basic ? 'Send the admin token as a bearer token or as the Basic password' : 'Send Authorization: Bearer <admin token>',
    );
    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const given = presented(request, basic);
      if (given !== null && timingSafeEqual(digest(given), expected)) return;
      // Answered here rather than thrown: a plugin in this scope (bull-board) sets an error handler of its own.
      return reply.code(401).header('www-authenticate', challenge).send(errorBody(refusal));
    });
  },
  { name: 'admin-auth', fastify: '5.x' },
);

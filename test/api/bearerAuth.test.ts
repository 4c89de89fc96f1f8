import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { bearerAuth } from '../../src/api/plugins/bearerAuth.js';
import { errorHandler } from '../../src/api/plugins/errorHandler.js';
import { clientIdOf } from '../../src/shared/ids.js';

const KEY = 'unit-test-key-0123456789';

/** An app shaped like pixelrelay's: a guarded scope beside open routes. */
async function appWithGuardedScope() {
  const app = Fastify();
  app.register(errorHandler);
  app.get('/open', async () => ({ open: true }));
  app.register(async (guarded) => {
    guarded.register(bearerAuth, { apiKeys: [KEY] });
    guarded.get('/guarded/whoami', async (request) => ({ clientId: request.clientId }));
  });
  app.register(async (sibling) => {
    sibling.get('/sibling', async () => ({ open: true }));
  });
  await app.ready();
  return app;
}

describe('bearerAuth', () => {
  it('guards the scope that registers it, and names the client there', async () => {
    const app = await appWithGuardedScope();
    const refused = await app.inject({ method: 'GET', url: '/guarded/whoami' });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer');
    expect(refused.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });

    const allowed = await app.inject({ method: 'GET', url: '/guarded/whoami', headers: { authorization: `Bearer ${KEY}` } });
    expect(allowed.json()).toEqual({ clientId: clientIdOf(KEY) });
    await app.close();
  });

  it('does not reach the routes outside that scope', async () => {
    const app = await appWithGuardedScope();
    for (const url of ['/open', '/sibling']) expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    await app.close();
  });

  it('refuses to load without the error handler, which writes its 401', async () => {
    const app = Fastify();
    app.register(bearerAuth, { apiKeys: [KEY] });
    await expect(app.ready()).rejects.toThrow(/error-handler/);
  });
});

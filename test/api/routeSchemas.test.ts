import Fastify, { type RouteOptions } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CONSOLE_PREFIX } from '../../src/api/console/consolePlugin.js';
import { DOCS_PREFIX } from '../../src/api/plugins/openapi.js';
import { QUEUE_DASHBOARD_PATH } from '../../src/api/plugins/queueDashboard.js';
import { editResource } from '../../src/engine/editResource.js';
import { errorBodySchema } from '../../src/errors.js';
import { appRoutesAndDocument } from '../helpers/appRoutes.js';
import { TEST_ADMIN_TOKEN } from '../helpers/clients.js';
import { startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

let t: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  // API only: the rows these tests write by hand are never touched by a worker.
  // ADMIN_TOKEN set: the admin routes exist only then.
  ({ t, stop } = await startRelayWithSimulator({ ROLE: 'api', ADMIN_TOKEN: TEST_ADMIN_TOKEN }));
});
afterAll(() => stop?.());

/** Every route pixelrelay's app registers, as Fastify was given it (schemas included). */
async function allRegisteredRoutes(): Promise<RouteOptions[]> {
  return (await appRoutesAndDocument(t.config)).routes;
}

/** bull-board's dashboard routes are its own, not our API: they have no schemas of ours, and are hidden from OpenAPI. */
const isQueueDashboard = (route: RouteOptions) => route.url.startsWith(QUEUE_DASHBOARD_PATH);

/** Swagger UI's routes serve the OpenAPI document itself. */
const isApiReference = (route: RouteOptions) => route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`);

/** The console's page and built files: a web app for people, hidden from the API's document. */
const isConsole = (route: RouteOptions) => route.url === '/console' || route.url.startsWith(CONSOLE_PREFIX);

async function registeredRoutes(): Promise<RouteOptions[]> {
  return (await allRegisteredRoutes()).filter((r) => !isQueueDashboard(r) && !isApiReference(r) && !isConsole(r));
}

// POSTs that take no body; PixelByte's webhook, whose body must reach the signature check as raw text; and the
// upload, whose body (multipart or an image) is read as a stream and documented per content type (`x-body-content`).
const NO_BODY_SCHEMA = new Set([
  'POST /v1/uploads',
  'POST /v1/edits/:id/cancel',
  'POST /v1/edits/:id/callback/redeliver',
  'POST /admin/clients/:id/keys',
  'POST /webhooks/pixelbyte/:token/:editId',
  'POST /webhooks/pixelbyte/:editId',
]);

/**
 * What each route must declare for its OpenAPI description to be whole: a success and the error shape as
 * responses, every path parameter, a body for every POST (unless listed above), a querystring for every GET.
 */
function schemaProblems(route: RouteOptions): string[] {
  const name = `${route.method} ${route.url}`;
  const schema = (route.schema ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  const response = (schema.response ?? {}) as Record<string, unknown>;
  if (!Object.keys(response).some((status) => /^2\d\d$/.test(status))) problems.push(`${name}: no success response schema`);
  if (route.url.startsWith('/v1/') || route.url.startsWith('/webhooks/') || route.url.startsWith('/admin/')) {
    for (const range of ['4xx', '5xx']) if (response[range] !== errorBodySchema) problems.push(`${name}: ${range} is not the error body`);
    const declared = schema.params instanceof z.ZodObject ? Object.keys(schema.params.shape).sort() : [];
    const inUrl = [...route.url.matchAll(/:(\w+)|\*/g)].map((m) => m[1] ?? '*').sort();
    if (declared.join() !== inUrl.join()) problems.push(`${name}: params schema names [${declared}], the URL [${inUrl}]`);
    if (route.method === 'POST' && (schema.body === undefined) !== NO_BODY_SCHEMA.has(name))
      problems.push(`${name}: body schema ${schema.body ? 'unexpected' : 'missing'}`);
    if (route.method === 'GET' && schema.querystring === undefined) problems.push(`${name}: no querystring schema`);
  }
  return problems;
}

describe('route schemas', () => {
  it('every route of the app declares its schemas', async () => {
    const routes = await registeredRoutes();
    expect(routes.map((r) => `${r.method} ${r.url}`).sort()).toEqual([
      'DELETE /admin/keys/:keyId',
      'GET /',
      'GET /admin/clients',
      'GET /admin/clients/:id',
      'GET /admin/edits',
      'GET /admin/edits/:id',
      'GET /healthz',
      'GET /metrics',
      'GET /readyz',
      'GET /v1/edits',
      'GET /v1/edits/:id',
      'GET /v1/edits/:id/events',
      'GET /v1/events',
      'GET /v1/models',
      'GET /v1/models/*',
      'GET /v1/uploads/:id',
      'GET /v1/usage',
      'PATCH /admin/clients/:id',
      'POST /admin/clients',
      'POST /admin/clients/:id/keys',
      'POST /v1/edits',
      'POST /v1/edits/:id/callback/redeliver',
      'POST /v1/edits/:id/cancel',
      'POST /v1/edits/estimate',
      'POST /v1/uploads',
      'POST /webhooks/pixelbyte/:editId',
      'POST /webhooks/pixelbyte/:token/:editId',
    ]);
    expect(routes.flatMap(schemaProblems)).toEqual([]);
  });

  it('the queue dashboard’s routes are all hidden from the OpenAPI document', async () => {
    const dashboard = (await allRegisteredRoutes()).filter(isQueueDashboard);
    expect(dashboard.map((r) => r.url)).toContain(`${QUEUE_DASHBOARD_PATH}/`);
    expect(dashboard.filter((r) => (r.schema as { hide?: boolean } | undefined)?.hide !== true).map((r) => `${r.method} ${r.url}`)).toEqual([]);
  });

  it('the check catches a route without a response schema, an undeclared parameter or a missing body', async () => {
    const app = Fastify().withTypeProvider<ZodTypeProvider>();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    const routes: RouteOptions[] = [];
    app.addHook('onRoute', (route) => void routes.push(route));
    app.get('/v1/things/:id', async () => ({}));
    app.post('/v1/things', { schema: { response: { 201: z.object({}), '4xx': errorBodySchema, '5xx': errorBodySchema } } }, async () => ({}));
    await app.ready();
    expect(routes.filter((r) => r.method !== 'HEAD').flatMap(schemaProblems)).toEqual([
      'GET /v1/things/:id: no success response schema',
      'GET /v1/things/:id: 4xx is not the error body',
      'GET /v1/things/:id: 5xx is not the error body',
      'GET /v1/things/:id: params schema names [], the URL [id]',
      'GET /v1/things/:id: no querystring schema',
      'POST /v1/things: body schema missing',
    ]);
    await app.close();
  });
});

describe('a query a route schema refuses', () => {
  // The route schema refuses these before any handler runs; the answer is the one the service used to give.
  it.each([
    ['/v1/edits?limit=0', 'limit'],
    ['/v1/edits?status=done', 'status'],
    ['/v1/edits?colour=red', '(body)'],
    ['/v1/edits/00000000-0000-4000-8000-000000000000?include=history&include=history', 'include'],
  ])('%s → 400 INVALID_INPUT at %s', async (url, path) => {
    const res = await t.relay.app!.inject({ method: 'GET', url, headers: t.auth });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, code: 'INVALID_INPUT', error: 'Bad Request', details: [{ path, message: expect.any(String) }] });
  });
});

describe('responses are serialized by their schema', () => {
  const input = { prompt: 'serialized by schema', image_urls: ['https://example.com/a.jpg'] };

  async function storedEdit() {
    const res = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: t.auth, payload: { input } });
    expect(res.statusCode).toBe(202);
    return res.json().id as string;
  }

  it('sends only the fields the edit schema names, whatever the stored row and its JSON carry', async () => {
    const id = await storedEdit();
    // Internal columns toEditResource leaves out, and outputs JSON with a key no schema names.
    await t.db.edit.update({
      where: { id },
      data: {
        pollCount: 7,
        nextPollAt: new Date(),
        refundedMicroCents: 424_242,
        outputs: [{ url: 'https://cdn.example.com/out.png', type: 'image', width: 1024, internalNote: 'staff-only-4f1c' }],
      },
    });

    for (const url of [`/v1/edits/${id}`, '/v1/edits?limit=100']) {
      const res = await t.relay.app!.inject({ method: 'GET', url, headers: t.auth });
      expect(res.statusCode).toBe(200);
      const edit = url.includes('?') ? res.json().edits.find((e: { id: string }) => e.id === id) : res.json();
      // queuePosition: only on a GET of one queued edit (this one is still queued)
      const expected = Object.keys(editResource.shape).filter(
        (k) => !['history', 'attempts', 'deliveries'].includes(k) && (k !== 'queuePosition' || !url.includes('?')),
      );
      expect(Object.keys(edit).sort()).toEqual(expected.sort());
      expect(edit.outputs).toEqual([{ url: 'https://cdn.example.com/out.png', type: 'image', width: 1024 }]);
      for (const internal of ['staff-only-4f1c', 'internalNote', 'pollCount', 'nextPollAt', 'refundedMicroCents', '424242', t.clientId, 'clientId']) {
        expect(res.body).not.toContain(internal);
      }
    }
  });

  it('replays an Idempotency-Key answer as it was stored, even one an earlier release stored without a field the schema has now', async () => {
    const headers = { ...t.auth, 'idempotency-key': 'stored-by-an-earlier-release' };
    const first = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers, payload: { input } });
    expect(first.statusCode).toBe(202);
    // The releases before callbacks stored their answers without `callback`.
    const { callback: _added, ...stored } = first.json();
    await t.db.idempotencyKey.update({ where: { clientId_key: { clientId: t.clientId, key: headers['idempotency-key'] } }, data: { responseBody: stored } });

    const replay = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers, payload: { input } });

    expect(replay.statusCode).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(replay.json()).toEqual(stored);
  });

  it('answers 500 INTERNAL_ERROR for a row its schema refuses, logging the route and the place, never the data', async () => {
    const id = await storedEdit();
    // No release ever stored an output without its URL: this row is corrupt, and saying so must not show it.
    await t.db.edit.update({ where: { id }, data: { outputs: [{ type: 'corrupt-row-9d2e' }] } });
    const logFrom = t.logs.lines.length;

    const res = await t.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}`, headers: t.auth });

    expect(res.statusCode).toBe(500);
    expect(errorBodySchema.parse(res.json())).toEqual({
      statusCode: 500,
      code: 'INTERNAL_ERROR',
      error: 'Internal Server Error',
      message: 'Internal server error',
    });
    const lines = t.logs.lines.slice(logFrom).map((line) => JSON.parse(line));
    expect(lines.find((l) => l.msg === 'response does not match its schema')).toMatchObject({
      level: 50,
      route: 'GET /v1/edits/:id',
      issues: [{ path: 'outputs.0.url', code: 'invalid_type' }],
    });
    expect(t.logs.lines.slice(logFrom).join('\n')).not.toContain('corrupt-row-9d2e');
  });
});

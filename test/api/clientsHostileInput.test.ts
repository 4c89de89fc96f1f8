import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders, createClient, TEST_ADMIN_TOKEN, type TestClient } from '../helpers/clients.js';
import { startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

// Every field the clients feature accepts, given what a careless or hostile caller sends: each gets a 4xx with a
// stable code, stores nothing and logs nothing above warn.

let t: TestRelay;
let stop: () => Promise<void>;
let client: TestClient;

beforeAll(async () => {
  ({ t, stop } = await startRelayWithSimulator({ ROLE: 'api', ADMIN_TOKEN: TEST_ADMIN_TOKEN }));
  client = await createClient(t, { name: 'the victim' });
});
afterAll(() => stop?.());

interface Row {
  name: string;
  method: 'POST' | 'GET' | 'PATCH' | 'DELETE';
  url: string | (() => string);
  /** Raw JSON text, or bytes. */
  body?: string | Buffer;
  /** Use the client's API key rather than the admin token. */
  asClient?: boolean;
  status: number;
  code: string;
  path?: string;
}

const create = (json: string | Buffer): Pick<Row, 'method' | 'url' | 'body'> => ({ method: 'POST', url: '/admin/clients', body: json });
const patch = (json: string | Buffer): Pick<Row, 'method' | 'url' | 'body'> => ({ method: 'PATCH', url: () => `/admin/clients/${client.id}`, body: json });
const usage = (query: string): Pick<Row, 'method' | 'url' | 'asClient'> => ({ method: 'GET', url: `/v1/usage?${query}`, asClient: true });
const bad = (path: string) => ({ status: 400, code: 'INVALID_INPUT', path });

const rows: Row[] = [
  { name: 'no name', ...create('{}'), ...bad('name') },
  { name: 'an empty name', ...create('{"name":""}'), ...bad('name') },
  { name: 'a name of spaces only', ...create('{"name":"   "}'), ...bad('name') },
  { name: 'a name of 101 characters', ...create(JSON.stringify({ name: 'n'.repeat(101) })), ...bad('name') },
  { name: 'a name of 100 KB', ...create(JSON.stringify({ name: 'n'.repeat(100_000) })), ...bad('name') },
  { name: 'U+0000 in the name', ...create(JSON.stringify({ name: 'a\u0000b' })), ...bad('name') },
  { name: 'a lone surrogate in the name', ...create(JSON.stringify({ name: 'a\ud800b' })), ...bad('name') },
  { name: 'a name in Latin-1, not UTF-8', ...create(Buffer.from('{"name":"caf\xe9"}', 'latin1')), status: 400, code: 'INVALID_UTF8' },
  { name: 'a rename to an encoded surrogate (ED B0 80)', ...patch(Buffer.from('{"name":"a\xed\xb0\x80"}', 'latin1')), status: 400, code: 'INVALID_UTF8' },
  { name: 'a name that is a number', ...create('{"name":42}'), ...bad('name') },
  { name: 'a name that is an object', ...create('{"name":{"$ne":null}}'), ...bad('name') },
  { name: 'a negative budget', ...create('{"name":"x","dailyBudgetMicroCents":-1}'), ...bad('dailyBudgetMicroCents') },
  { name: 'a fractional budget', ...create('{"name":"x","dailyBudgetMicroCents":1.5}'), ...bad('dailyBudgetMicroCents') },
  { name: 'a budget of 1e400 (Infinity)', ...create('{"name":"x","dailyBudgetMicroCents":1e400}'), ...bad('dailyBudgetMicroCents') },
  { name: 'a budget of 2^60', ...create('{"name":"x","dailyBudgetMicroCents":1152921504606846976}'), ...bad('dailyBudgetMicroCents') },
  { name: 'a budget one over the maximum', ...create('{"name":"x","dailyBudgetMicroCents":1000000000000000001}'), ...bad('dailyBudgetMicroCents') },
  { name: 'a budget as a string', ...create('{"name":"x","dailyBudgetMicroCents":"1000"}'), ...bad('dailyBudgetMicroCents') },
  { name: 'a budget of null on create', ...create('{"name":"x","dailyBudgetMicroCents":null}'), ...bad('dailyBudgetMicroCents') },
  { name: 'a rate limit of 0', ...create('{"name":"x","rateLimitPerMinute":0}'), ...bad('rateLimitPerMinute') },
  { name: 'a negative rate limit', ...create('{"name":"x","rateLimitPerMinute":-5}'), ...bad('rateLimitPerMinute') },
  { name: 'a fractional rate limit', ...create('{"name":"x","rateLimitPerMinute":0.5}'), ...bad('rateLimitPerMinute') },
  { name: 'a rate limit of 2^53 + 1', ...create('{"name":"x","rateLimitPerMinute":9007199254740993}'), ...bad('rateLimitPerMinute') },
  { name: 'a rate limit of -1e400', ...create('{"name":"x","rateLimitPerMinute":-1e400}'), ...bad('rateLimitPerMinute') },
  { name: 'an unknown field', ...create('{"name":"x","isAdmin":true}'), ...bad('(body)') },
  { name: 'a body that is an array', ...create('[{"name":"x"}]'), ...bad('(body)') },
  { name: 'a body that is not JSON', ...create('{"name":'), status: 400, code: 'INVALID_JSON' },
  { name: 'a patch that changes nothing', ...patch('{}'), ...bad('(body)') },
  { name: 'a patch with a null name', ...patch('{"name":null}'), ...bad('name') },
  { name: 'a patch with a negative budget', ...patch('{"dailyBudgetMicroCents":-100}'), ...bad('dailyBudgetMicroCents') },
  { name: 'a patch with a rate limit of 1e400', ...patch('{"rateLimitPerMinute":1e400}'), ...bad('rateLimitPerMinute') },
  { name: 'a patch of an unknown field', ...patch('{"id":"00000000-0000-4000-8000-000000000000"}'), ...bad('(body)') },
  { name: 'a query on the client list', method: 'GET', url: '/admin/clients?limit=5', ...bad('(body)') },
  { name: 'a client id with U+0000', method: 'GET', url: '/admin/clients/%00', status: 404, code: 'CLIENT_NOT_FOUND' },
  { name: 'a client id of SQL', method: 'GET', url: `/admin/clients/${encodeURIComponent("' OR 1=1 --")}`, status: 404, code: 'CLIENT_NOT_FOUND' },
  // 100 is Fastify's maxParamLength: a longer path parameter is refused by the router itself.
  {
    name: 'a client id of 100 characters',
    method: 'PATCH',
    url: `/admin/clients/${'a'.repeat(100)}`,
    body: '{"name":"x"}',
    status: 404,
    code: 'CLIENT_NOT_FOUND',
  },
  { name: 'keys for a client id that is not a UUID', method: 'POST', url: '/admin/clients/12345/keys', status: 404, code: 'CLIENT_NOT_FOUND' },
  { name: 'a key id that is a key prefix', method: 'DELETE', url: '/admin/keys/prk_live_0123456789', status: 404, code: 'API_KEY_NOT_FOUND' },
  { name: 'a client id of 2,000 characters', method: 'GET', url: `/admin/clients/${'a'.repeat(2_000)}`, status: 414, code: 'URI_TOO_LONG' },
  { name: 'a key id of an emoji', method: 'DELETE', url: '/admin/keys/%F0%9F%98%80', status: 404, code: 'API_KEY_NOT_FOUND' },
  { name: 'a key id with an encoded lone surrogate', method: 'DELETE', url: '/admin/keys/%ED%A0%80', status: 400, code: 'INVALID_URL' },
  { name: 'usage from 30 February', ...usage('from=2024-02-30'), ...bad('from') },
  { name: 'usage to a non-date', ...usage('to=yesterday'), ...bad('to') },
  { name: 'usage from a date without zero padding', ...usage('from=2024-1-1'), ...bad('from') },
  { name: 'usage from a timestamp', ...usage('from=2024-01-01T00:00:00Z'), ...bad('from') },
  { name: 'usage from year 0', ...usage('from=0000-01-01'), ...bad('from') },
  { name: 'usage to year 275760', ...usage('to=%2B275760-09-13'), ...bad('to') },
  { name: 'usage from after to', ...usage('from=2025-03-02&to=2025-03-01'), ...bad('from') },
  { name: 'usage over 366 days', ...usage('from=2024-01-01&to=2025-01-01'), ...bad('from') },
  { name: 'usage with from twice', ...usage('from=2025-01-01&from=2025-01-02'), ...bad('from') },
  { name: 'usage from with U+0000', ...usage('from=2025-01-01%00'), ...bad('from') },
  { name: 'usage with an unknown parameter', ...usage('clientId=someone-else'), ...bad('(body)') },
];

const counts = async () => ({ clients: await t.db.client.count(), keys: await t.db.apiKey.count() });

describe('hostile input to the clients feature', () => {
  it('has a row for every new field', () => {
    expect(rows.length).toBeGreaterThanOrEqual(40);
  });

  it.each(rows.map((row) => [row.name, row] as const))('%s → 4xx with a stable code, nothing stored, nothing logged above warn', async (_name, row) => {
    const before = await counts();
    const stored = await t.db.client.findUniqueOrThrow({ where: { id: client.id } });
    const logFrom = t.logs.lines.length;
    const res = await t.relay.app!.inject({
      method: row.method,
      url: typeof row.url === 'function' ? row.url() : row.url,
      headers: { ...(row.asClient ? client.auth : adminHeaders), ...(row.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(row.body !== undefined ? { payload: row.body } : {}),
    });

    expect(res.statusCode, res.body.slice(0, 500)).toBe(row.status);
    const body = res.json();
    expect(body).toMatchObject({ statusCode: row.status, code: row.code, error: expect.any(String), message: expect.any(String) });
    if (row.path !== undefined) expect(body.details.map((d: { path: string }) => d.path)).toContain(row.path);
    expect(await counts()).toEqual(before);
    expect(await t.db.client.findUniqueOrThrow({ where: { id: client.id } })).toEqual(stored);
    expect(t.logs.lines.slice(logFrom).filter((l) => JSON.parse(l).level > 40)).toEqual([]);
  });

  it('still accepts the limits: a 100-character name, a budget of $1,000,000,000, a rate limit of 1,000,000, and null to clear them', async () => {
    const created = await t.relay.app!.inject({
      method: 'POST',
      url: '/admin/clients',
      headers: adminHeaders,
      payload: { name: `${'n'.repeat(98)}😀`, dailyBudgetMicroCents: 1_000_000_000_000_000, rateLimitPerMinute: 1_000_000 },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ dailyBudgetMicroCents: 1_000_000_000_000_000, rateLimitPerMinute: 1_000_000 });
    const cleared = await t.relay.app!.inject({
      method: 'PATCH',
      url: `/admin/clients/${created.json().id}`,
      headers: adminHeaders,
      payload: { dailyBudgetMicroCents: null, rateLimitPerMinute: null },
    });
    expect(cleared.json()).toMatchObject({ dailyBudgetMicroCents: null, rateLimitPerMinute: null });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_REALM } from '../../src/api/plugins/adminAuth.js';
import { TEST_ADMIN_TOKEN } from '../helpers/clients.js';
import { startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

let t: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ t, stop } = await startRelayWithSimulator({ ROLE: 'api', ADMIN_TOKEN: TEST_ADMIN_TOKEN }));
});
afterAll(() => stop?.());

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
/** Over real HTTP, as a browser would open it. */
const open = (path: string, headers: Record<string, string> = {}) => fetch(`${t.relay.url}${path}`, { headers });

describe('the queue dashboard', () => {
  it.each([
    ['no credentials', {}],
    ['a wrong bearer token', { authorization: 'Bearer not-the-admin-token-not-the-admin-token' }],
    ['a wrong Basic password', basic('admin', 'not-the-admin-token')],
    ['the token as the Basic user name', basic(TEST_ADMIN_TOKEN, '')],
    ['a bootstrap API key', { authorization: 'Bearer test-key-that-is-no-admin-token' }],
    ['Basic without a colon', { authorization: `Basic ${Buffer.from(TEST_ADMIN_TOKEN).toString('base64')}` }],
  ])('refuses %s with 401 and a Basic challenge', async (_what, headers) => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/favicon-32x32.png']) {
      const res = await open(path, headers);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(`Basic realm="${ADMIN_REALM}", charset="UTF-8"`);
      expect(await res.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    }
  });

  it.each([
    ['a bearer token', { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }],
    ['HTTP Basic with the token as password', basic('operator', TEST_ADMIN_TOKEN)],
  ])('opens with %s: the page, and both queues in its API', async (_what, headers) => {
    const page = await open('/admin/queues', headers);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('pixelrelay queues');

    const queues = await open('/admin/queues/api/queues', headers);
    expect(queues.status).toBe(200);
    const names = ((await queues.json()) as { queues: { name: string; readOnlyMode: boolean }[] }).queues.map((q) => [q.name, q.readOnlyMode]);
    expect(names.sort()).toEqual([
      ['callback-deliver', true],
      ['edit-submit', true],
    ]);
  });

  it('is not in the OpenAPI document, where the admin API is', async () => {
    const document = (await t.relay.app!.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, unknown> };
    const paths = Object.keys(document.paths);
    expect(paths).toContain('/admin/clients');
    expect(paths.filter((p) => p.startsWith('/admin/queues'))).toEqual([]);
  });

  it('shows an edit waiting in the submit queue', async () => {
    const created = await t.relay.app!.inject({
      method: 'POST',
      url: '/v1/edits',
      headers: t.auth,
      payload: { input: { prompt: 'seen on the board', image_urls: ['https://example.com/a.jpg'] } },
    });
    const res = await open('/admin/queues/api/queues?activeQueue=edit-submit&status=waiting', { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    const body = (await res.json()) as { queues: { name: string; jobs: { id: string }[] }[] };
    expect(body.queues.find((q) => q.name === 'edit-submit')!.jobs.map((j) => j.id)).toContain(created.json().id);
  });
});

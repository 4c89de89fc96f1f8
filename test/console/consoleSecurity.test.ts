import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../src/api/console/securityHeaders.js';
import { adminHeaders, createClient, TEST_ADMIN_TOKEN, type TestClient } from '../helpers/clients.js';
import { startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

const PRO = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';

let t: TestRelay;
let stop: () => Promise<void>;
let alice: TestClient;
let bob: TestClient;
let aliceEdit: string;

beforeAll(async () => {
  ({ t, stop } = await startRelayWithSimulator({ ADMIN_TOKEN: TEST_ADMIN_TOKEN }, { pendingMs: 50, processingMs: 100 }));
  alice = await createClient(t, { name: 'alice' });
  bob = await createClient(t, { name: 'bob' });
  const res = await t.relay.app!.inject({
    method: 'POST',
    url: '/v1/edits',
    headers: alice.auth,
    payload: { model: PRO, input: { prompt: 'alice only', image_urls: ['https://example.com/a.png'] } },
  });
  expect(res.statusCode, res.body).toBe(202);
  aliceEdit = res.json().id;
});
afterAll(() => stop?.());

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${t.relay.url}${path}`, { headers, redirect: 'manual' });

describe('the console’s pages', () => {
  it('send a strict Content-Security-Policy: own origin only, no inline script or style, images from anywhere', async () => {
    const directives = Object.fromEntries(CONSOLE_CSP.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives['default-src']).toEqual(["'self'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['style-src']).toEqual(["'self'"]);
    expect(directives['connect-src']).toEqual(["'self'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    // Outputs come from PixelByte's CDN and presigned bucket URLs, origins not known when the page is served.
    expect(directives['img-src']).toEqual(["'self'", 'data:', 'blob:', 'http:', 'https:']);
    expect(CONSOLE_CSP).not.toContain('unsafe');

    for (const path of ['/console/', '/console/edits/00000000-0000-0000-0000-000000000000', '/console/usage']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('load only scripts and styles of their own origin, none inline, and the assets carry the policy too', async () => {
    const html = await (await get('/console/')).text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(body!.trim()).toBe('');
      expect(attributes).toMatch(/src="\/console\/assets\/[^"]+\.js"/);
    }
    expect(html).not.toMatch(/<style\b|style="/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const res = await get(asset);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('javascript');
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    // Nothing fetched from outside: the bundle names no other origin to load from.
    const code = await res.text();
    expect(code).not.toMatch(/fonts\.googleapis|cdn\.jsdelivr|unpkg\.com/);
  });

  it('answer a missing asset with 404 in the one error shape, not the app', async () => {
    const res = await get('/console/assets/no-such-chunk.js');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('ROUTE_NOT_FOUND');
  });

  it('are where GET / sends a browser; a script still gets the index as JSON', async () => {
    const browser = await get('/', { accept: 'text/html,application/xhtml+xml' });
    expect(browser.status).toBe(302);
    expect(browser.headers.get('location')).toBe('/console/');
    const script = await get('/');
    expect(script.status).toBe(200);
    expect(((await script.json()) as { console: string }).console).toBe('/console/');
    const bare = await get('/console');
    expect(bare.status).toBe(302);
    expect(bare.headers.get('location')).toBe('/console/');
  });
});

describe('what the console reads', () => {
  it('admin routes refuse a client key and no key: 401 UNAUTHORIZED', async () => {
    for (const path of ['/admin/edits', `/admin/edits/${aliceEdit}`, '/admin/clients']) {
      for (const headers of [alice.auth, {}]) {
        const res = await get(path, headers);
        expect(res.status, path).toBe(401);
        expect(((await res.json()) as { code: string }).code).toBe('UNAUTHORIZED');
      }
    }
  });

  it('no client route shows another client’s edit: not in its list, not by id, not with extras, not on its streams', async () => {
    const list = (await (await get('/v1/edits?limit=100', bob.auth)).json()) as { edits: { id: string }[] };
    expect(list.edits.map((e) => e.id)).not.toContain(aliceEdit);
    for (const path of [`/v1/edits/${aliceEdit}`, `/v1/edits/${aliceEdit}?include=history,attempts,deliveries`, `/v1/edits/${aliceEdit}/events`]) {
      const res = await get(path, bob.auth);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe('EDIT_NOT_FOUND');
    }
    const cancel = await fetch(`${t.relay.url}/v1/edits/${aliceEdit}/cancel`, { method: 'POST', headers: bob.auth });
    expect(cancel.status).toBe(404);
  });

  it('the admin token reads every client’s edits, each with its client', async () => {
    const res = await get(`/admin/edits/${aliceEdit}`, adminHeaders);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { clientId: string }).clientId).toBe(alice.id);
  });
});

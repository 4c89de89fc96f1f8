import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { renderPng } from '../../simulator/outputImages.js';
import { isTerminal } from '../../src/store/edits/status.js';
import { type LocalS3Server, startLocalS3 } from '../../testkit/s3Server.js';
import { CallbackReceiver } from '../helpers/callbackReceiver.js';
import { adminHeaders, createClient, TEST_ADMIN_TOKEN, type TestClient } from '../helpers/clients.js';
import { uploadFile } from '../helpers/images.js';
import { eventually, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';
import { expectNoCriticalViolations, imagesLoaded, launchBrowser, pageGlobal, screenshot, sessionStorageSize, setPageGlobal, watchPage } from './browser.js';

const PRO = 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image';
const DAILY_BUDGET = 5_000_000;

let s3: LocalS3Server;
let t: TestRelay;
let stopRelay: () => Promise<void>;
let receiver: CallbackReceiver;
let browser: Browser;
let client: TestClient;
let other: TestClient;
let context: BrowserContext | undefined;
let seen: ReturnType<typeof watchPage> | undefined;
let simUrl: string;
/** A real picture for the source images, so the page has something to show. */
let PNG: Buffer;

beforeAll(async () => {
  s3 = await startLocalS3({ bucket: 'console-test' });
  receiver = await CallbackReceiver.start();
  ({
    t,
    simUrl,
    stop: stopRelay,
  } = await startRelayWithSimulator(
    {
      ...s3.env({ STORAGE_S3_PREFIX: 'console/' }),
      OUTPUT_FETCH_ALLOW_PRIVATE: 'true',
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      CALLBACK_ALLOW_PRIVATE: 'true',
      ALLOW_HTTP_CALLBACKS: 'true',
    },
    { pendingMs: 100, processingMs: 300 },
  ));
  client = await createClient(t, { name: 'console client', dailyBudgetMicroCents: DAILY_BUDGET });
  other = await createClient(t, { name: 'another client' });
  PNG = await renderPng('console source', 160, 120);
  browser = await launchBrowser();
});
afterEach(async () => {
  await context?.close();
  context = undefined;
  // Every page of every test kept to its Content-Security-Policy and asked nothing of another origin but images.
  expect(seen?.errors.filter((e) => /Content Security Policy/i.test(e)) ?? []).toEqual([]);
  const origins = new Set((seen?.requests ?? []).map((r) => new URL(r.url).origin));
  for (const origin of origins) expect([t.relay.url, simUrl, s3.endpoint], `requested ${origin}`).toContain(origin);
  expect((seen?.requests ?? []).filter((r) => new URL(r.url).origin !== t.relay.url && r.type !== 'image')).toEqual([]);
  seen = undefined;
});
afterAll(async () => {
  await browser?.close();
  await stopRelay?.();
  await receiver?.close();
  await s3?.close();
});

async function createEdit(who: TestClient, input: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: who.auth, payload: { model: PRO, input, ...extra } });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id as string;
}

function settled(who: TestClient, id: string) {
  return eventually(
    async () => {
      const edit = (await t.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}`, headers: who.auth })).json();
      return isTerminal(edit.status) && edit.callback.status !== 'pending' ? edit : undefined;
    },
    20_000,
    `edit ${id} to settle`,
  );
}

async function openConsole(path = '/console/'): Promise<Page> {
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  seen = watchPage(page);
  await page.goto(`${t.relay.url}${path}`);
  return page;
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('API key or admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

describe('the console in Chromium', () => {
  it('refuses a wrong key on the sign-in page, saying so', async () => {
    const page = await openConsole();
    await expectNoCriticalViolations(page, 'sign-in page');
    await page.getByLabel('API key or admin token').fill('not-a-key-of-this-relay');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('This key was not accepted');
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    expect(await sessionStorageSize(page)).toBe(0);
    await screenshot(page, 'sign-in-wrong-key');
    // The only failed loads are the two probes that refused the key.
    expect(seen!.errors.filter((e) => !e.includes('401'))).toEqual([]);
  });

  it('signs in with a client key and shows an edit made meanwhile, and its moves, without a reload', async () => {
    const page = await openConsole();
    await signIn(page, client.apiKey);
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    // Set on this document: a reload would lose it.
    await setPageGlobal(page, 'stayed', true);

    const upload = await uploadFile(t, PNG, { auth: client.auth });
    const id = await createEdit(client, { prompt: 'a live one', image_urls: [`upload:${upload.body.id}`], num_images: '1' });
    await page.locator(`tr[data-edit-id="${id}"][data-status="completed"]`).waitFor();
    await imagesLoaded(page, `tr[data-edit-id="${id}"] img`);
    expect(await pageGlobal(page, 'stayed')).toBe(true);
    expect(page.url()).not.toContain(client.apiKey);
    await expectNoCriticalViolations(page, 'edits list');
    await screenshot(page, 'edits');
  });

  it('opens an edit: its output images loaded, its history, attempts, callback and cost', async () => {
    const upload = await uploadFile(t, PNG, { auth: client.auth });
    expect(upload.status).toBe(201);
    const id = await createEdit(
      client,
      { prompt: 'Replace the background with a beach', image_urls: [`upload:${upload.body.id}`], num_images: '2', size: '1K' },
      { callbackUrl: `${receiver.url}/hook` },
    );
    const done = await settled(client, id);
    expect(done.status).toBe('completed');

    const page = await openConsole();
    await signIn(page, client.apiKey);
    await page.goto(`${t.relay.url}/console/edits/${id}`);
    await page.getByRole('heading', { name: /^Edit / }).waitFor();

    const outputs = page.getByRole('img', { name: /^Output \d$/ });
    await outputs.first().waitFor();
    expect(await outputs.count()).toBe(2);
    // Loaded, not merely in the page: each has decoded pixels (from the bucket's presigned mirror URL).
    await imagesLoaded(page, 'img[alt^="Output"]');
    const sources = await outputs.evaluateAll((imgs) => imgs.map((img) => (img as unknown as { currentSrc: string }).currentSrc));
    expect(sources.every((src) => src.startsWith(s3.endpoint))).toBe(true);
    await imagesLoaded(page, 'img[alt^="Source"]');

    const history = page.locator('.timeline li');
    expect(await history.count()).toBeGreaterThanOrEqual(4);
    const historyText = (await history.allTextContents()).join('\n');
    for (const status of ['queued', 'submitted', 'completed']) expect(historyText).toContain(status);
    expect(await page.locator('[data-cost="estimated"]').textContent()).toMatch(/^\$\d/);
    expect(await page.locator('[data-cost="charged"]').textContent()).toMatch(/^\$\d/);
    expect(await page.getByRole('region', { name: 'Submit attempts' }).textContent()).toContain('accepted');
    expect(await page.getByRole('region', { name: 'Callback deliveries' }).textContent()).toContain('delivered');

    // Full size on click, in a dialog that closes again.
    await outputs.first().click();
    await page.getByRole('dialog', { name: 'Output 1' }).waitFor();
    await page.getByRole('dialog', { name: 'Output 1' }).getByRole('button', { name: 'Close' }).click();
    await page.getByRole('dialog', { name: 'Output 1' }).waitFor({ state: 'hidden' });

    await expectNoCriticalViolations(page, 'edit page');
    await screenshot(page, 'edit');

    // An action the API has: the callback delivered once is sent again, and the page says so.
    const before = receiver.received.filter((r) => r.path === '/hook').length;
    await page.getByRole('button', { name: 'Redeliver callback' }).click();
    await page.getByRole('status').filter({ hasText: 'Redelivery started.' }).waitFor();
    await eventually(() => (receiver.received.filter((r) => r.path === '/hook').length > before ? true : undefined), 15_000, 'the redelivered callback');
  });

  it('makes a new edit from the model’s form with a local image uploaded, priced first, then follows it live', async () => {
    const page = await openConsole();
    await signIn(page, client.apiKey);
    await page.getByRole('link', { name: 'New edit' }).click();
    await page.getByLabel('Model').selectOption(PRO);
    await page.getByLabel(/^Prompt/).fill('Make the sky purple');
    await page.getByLabel(/^Image urls/).setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: PNG });
    await page
      .getByRole('list', { name: 'Images chosen' })
      .getByText(/^upload:/)
      .waitFor();
    await page
      .getByRole('status')
      .filter({ hasText: /^Estimated cost: \$\d/ })
      .waitFor();
    await expectNoCriticalViolations(page, 'new edit page');
    await screenshot(page, 'new-edit');

    await page.getByRole('button', { name: 'Send edit' }).click();
    await page.waitForURL(/\/console\/edits\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').at(-1)!;
    // Followed on the page itself: the status moves to completed and the outputs appear, with no reload.
    await page.locator('.title-row .status-completed').waitFor();
    await page.getByRole('img', { name: 'Output 1' }).waitFor();
    const edit = (await t.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}`, headers: client.auth })).json();
    expect(edit.input.prompt).toBe('Make the sky purple');
    expect(edit.input.image_urls[0]).toMatch(/^upload:/);
  });

  it('shows usage per day and per model against the daily budget, with queued and in-flight counts', async () => {
    const page = await openConsole();
    await signIn(page, client.apiKey);
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('img', { name: /Spend per UTC day/ }).waitFor();
    expect(await page.getByRole('img', { name: /Spend per model/ }).count()).toBe(1);
    expect(await page.getByText('daily budget $5.00').count()).toBe(1);
    expect(await page.locator('[data-count="queued"]').textContent()).toMatch(/^\d+$/);
    expect(await page.locator('[data-count="in-flight"]').textContent()).toMatch(/^\d+$/);
    expect(await page.locator('table').textContent()).toContain(PRO);
    await expectNoCriticalViolations(page, 'usage page');
    await screenshot(page, 'usage');
  });

  it('with the admin token, shows every client’s edits and the clients, and shows a new key once', async () => {
    const mine = await createEdit(client, { prompt: 'mine', image_urls: ['https://example.com/a.png'] });
    const theirs = await createEdit(other, { prompt: 'theirs', image_urls: ['https://example.com/b.png'] });
    const page = await openConsole();
    await signIn(page, TEST_ADMIN_TOKEN);
    await page.locator(`tr[data-edit-id="${theirs}"]`).waitFor();
    expect(await page.locator(`tr[data-edit-id="${mine}"]`).count()).toBe(1);
    await expectNoCriticalViolations(page, 'admin edits list');
    await screenshot(page, 'admin-edits');

    await page.getByRole('link', { name: 'Clients' }).click();
    await page
      .locator(`td[data-today="${client.id}"]`)
      .filter({ hasText: /spent today, \$[\d.]+ left/ })
      .waitFor();
    expect(await page.locator(`td[data-today="${client.id}"]`).textContent()).toMatch(/\d+ queued, \d+ in flight/);
    await page.getByLabel('New client’s name').fill('made in the console');
    await page.getByRole('button', { name: 'Create client' }).click();
    const shown = page.locator('.shown-once code');
    await shown.waitFor();
    const key = await shown.textContent();
    expect(key).toBeTruthy();
    // The key works, and is not shown again once dismissed.
    const res = await t.relay.app!.inject({ method: 'GET', url: '/v1/usage', headers: { authorization: `Bearer ${key}` } });
    expect(res.statusCode).toBe(200);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    expect(await page.getByText(key!).count()).toBe(0);
    await expectNoCriticalViolations(page, 'admin clients page');
    await screenshot(page, 'admin-clients');
  });

  it('goes back to the sign-in page, saying why, once the key in use is revoked', async () => {
    const doomed = await createClient(t, { name: 'revoked while signed in' });
    const page = await openConsole();
    await signIn(page, doomed.apiKey);
    // The list's own reads done first, so the one refused is the Usage page's.
    await page.getByText('No edits yet.').waitFor();
    await page.locator('select[name="model"] option').nth(1).waitFor({ state: 'attached' });
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    const detail = (await t.relay.app!.inject({ method: 'GET', url: `/admin/clients/${doomed.id}`, headers: adminHeaders })).json();
    const revoked = await t.relay.app!.inject({ method: 'DELETE', url: `/admin/keys/${detail.keys[0].id}`, headers: adminHeaders });
    expect(revoked.statusCode).toBe(200);
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('alert').filter({ hasText: 'no longer accepted' }).waitFor();
    await page.getByLabel('API key or admin token').waitFor();
    expect(await sessionStorageSize(page)).toBe(0);
  });

  it('never writes a key into the relay’s logs', () => {
    const logs = t.logs.text();
    expect(logs).not.toContain(client.apiKey);
    expect(logs).not.toContain(TEST_ADMIN_TOKEN);
  });
});

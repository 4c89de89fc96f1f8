import { mkdir } from 'node:fs/promises';
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it when missing). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Chromium as the tests run it: headless, with nothing of its own going out (no QUIC, no background networking,
 * no component or sync updates), in a fresh profile that playwright makes and removes for each launch.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

const SCREENSHOTS = new URL('../../docs/screenshots/', import.meta.url);

/** Written by every run, so the README's pictures show the console as it is. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, SCREENSHOTS).pathname, fullPage: true });
}

/** axe-core's WCAG 2 A/AA rules on the page as it is now: none of its violations may be critical. */
export async function expectNoCriticalViolations(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const critical = results.violations.filter((v) => v.impact === 'critical');
  expect(
    critical.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
    what,
  ).toEqual([]);
}

/** What the tests read of an <img>; the test files are compiled without the DOM's types. */
interface ImageState {
  complete: boolean;
  naturalWidth: number;
}
type PageGlobals = { document: { querySelectorAll(selector: string): ArrayLike<ImageState> } };

/** Waits until the images `selector` matches have decoded pixels: all of them, or (`some`) at least one. */
export async function imagesLoaded(page: Page, selector: string, which: 'all' | 'some' = 'all'): Promise<void> {
  await page.waitForFunction(
    ({ selector, which }) => {
      const images = Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll(selector));
      const loaded = (img: ImageState) => img.complete && img.naturalWidth > 0;
      return images.length > 0 && (which === 'all' ? images.every(loaded) : images.some(loaded));
    },
    { selector, which },
  );
}

/** A value on the page's own global object (window). */
export function pageGlobal(page: Page, name: string): Promise<unknown> {
  return page.evaluate((key) => (globalThis as Record<string, unknown>)[key], name);
}

export function setPageGlobal(page: Page, name: string, value: unknown): Promise<void> {
  return page.evaluate(
    ([key, v]) => {
      (globalThis as Record<string, unknown>)[key as string] = v;
    },
    [name, value] as const,
  );
}

/** How many entries the tab's sessionStorage holds. */
export function sessionStorageSize(page: Page): Promise<number> {
  return page.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length);
}

/** Collects what the page logs as errors and every request it makes, to check afterwards. */
export function watchPage(page: Page): { errors: string[]; requests: { url: string; type: string }[] } {
  const seen = { errors: [] as string[], requests: [] as { url: string; type: string }[] };
  page.on('console', (message) => {
    if (message.type() === 'error') seen.errors.push(message.text());
  });
  page.on('pageerror', (error) => seen.errors.push(String(error)));
  page.on('request', (request) => seen.requests.push({ url: request.url(), type: request.resourceType() }));
  return seen;
}

import type { Ceilings } from './ceilings.js';
import { checkAbort, log, sleep } from './control.js';
import { type Database, terminalCount } from './database.js';
import { type PostRun, postAtRate, postEdits } from './load.js';
import type { BenchOptions } from './options.js';
import type { Relay } from './relay.js';
import type { Upstream } from './upstreamProcess.js';

/** What every phase works with: the options, the bench's database, the upstream stand-in and the relay. */
export interface Context {
  o: BenchOptions;
  db: Database;
  upstream: Upstream;
  relay: Relay;
  apiKey: string;
  body: string;
  ceilings?: Ceilings;
}

/** Posts `amount` edits through the relay's API, as fast as the clients go or at `overallRate` per second. */
export async function post(ctx: Context, amount: number, overallRate?: number): Promise<PostRun> {
  const options = { apiUrls: ctx.relay.apiUrls, apiKey: ctx.apiKey, body: ctx.body, connections: ctx.o.concurrency, amount };
  const result = overallRate ? await postAtRate({ ...options, overallRate }) : await postEdits(options);
  checkAbort();
  const refused = Object.entries(result.statusCounts).filter(([s]) => s !== '202');
  if (refused.length > 0 || result.errors > 0)
    log(`  not accepted: ${JSON.stringify(Object.fromEntries(refused))}, ${result.errors} errors, ${result.timeouts} timeouts`);
  return result;
}

/** Polls the database until `target` edits are terminal; aborts when nothing finishes for `stallMs`. */
export async function waitTerminal(
  db: Database,
  target: number,
  label: string,
  o: { pollMs?: number; stallMs?: number } = {},
): Promise<Record<string, number>> {
  const pollMs = o.pollMs ?? 200;
  const stallMs = o.stallMs ?? 120_000;
  let last = -1;
  let lastChange = Date.now();
  let lastPrint = Date.now();
  for (;;) {
    checkAbort();
    const counts = await db.statusCounts();
    const done = terminalCount(counts);
    if (done >= target) return counts;
    if (done !== last) {
      last = done;
      lastChange = Date.now();
    }
    if (Date.now() - lastChange > stallMs) {
      throw new Error(`${label}: no edit finished for ${stallMs / 1000} s (${done}/${target} terminal; ${JSON.stringify(counts)})`);
    }
    if (Date.now() - lastPrint > 10_000) {
      lastPrint = Date.now();
      log(`${label}: ${done}/${target} edits terminal ${JSON.stringify(counts)}`);
    }
    await sleep(pollMs);
  }
}

export function editBody(o: BenchOptions, callbackUrl: string | undefined): string {
  return JSON.stringify({
    input: { prompt: 'Replace the background with a tropical beach at sunset', image_urls: ['https://example.com/bench.jpg'], num_images: o.numImages },
    ...(callbackUrl ? { callbackUrl } : {}),
  });
}

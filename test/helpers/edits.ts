import type { Simulator } from '../../simulator/index.js';
import { isTerminal } from '../../src/store/edits/status.js';
import { eventually, type TestRelay } from './relay.js';

/** GET /v1/edits/:id with its history, as the client sees it. */
export async function fetchEdit(t: TestRelay, id: string) {
  return (await t.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}?include=history`, headers: t.auth })).json();
}

/** Waits for the edit to reach a terminal status and returns it. */
export function settledEdit(t: TestRelay, id: string, timeoutMs = 15_000) {
  return eventually(
    async () => {
      const e = await fetchEdit(t, id);
      return isTerminal(e.status) ? e : undefined;
    },
    timeoutMs,
    `edit ${id} to settle`,
  );
}

/** The submit calls the simulator received for one edit (its webhook URL ends with the edit id). */
export function submitsFor(sim: Simulator, id: string) {
  return sim.calls.filter((c) => c.path === '/v1/jobs/submit' && String((c.body as { webhookUrl?: string })?.webhookUrl).endsWith(id));
}

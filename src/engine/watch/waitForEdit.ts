import { isTerminal } from '../../store/edits/status.js';
import type { EditResource } from '../editResource.js';
import type { Watch } from './wakeups.js';

/**
 * Reads the edit until it is terminal or `ms` have passed, re-reading at each wake-up of `watch` (which the caller
 * opened before anything was read, so no change between the first read and the wait goes unheard).
 */
export async function waitForEdit(watch: Watch, ms: number, read: () => Promise<EditResource>): Promise<{ edit: EditResource; terminal: boolean }> {
  const deadline = Date.now() + ms;
  for (;;) {
    const edit = await read();
    if (isTerminal(edit.status)) return { edit, terminal: true };
    const left = deadline - Date.now();
    if (left <= 0 || watch.ending) return { edit, terminal: false };
    await watch.changed(left);
  }
}

import { stopLoad } from './load.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
export const round = (v: number, digits = 0) => Math.round(v * 10 ** digits) / 10 ** digits;
export const ratio = (v: number | undefined, ceiling: number | undefined) => (v === undefined || !ceiling ? null : round(v / ceiling, 4));

// --- abort: Ctrl-C, the deadline, a relay process dying ---------------------------------------------
// One run per process: every phase checks this between its steps, so an abort anywhere stops the run where it is.
export class Aborted extends Error {}

let abortReason: string | undefined;
let stopping = false;

export function abort(reason: string): void {
  if (abortReason) return;
  abortReason = reason;
  log(`aborting: ${reason}`);
  stopLoad();
}
export function checkAbort(): void {
  if (abortReason) throw new Aborted(abortReason);
}
export const abortedBecause = (): string | undefined => abortReason;

/** From here on the bench stops its processes itself: their exits are expected, not a reason to abort. */
export function markStopping(): void {
  stopping = true;
}
export const isStopping = (): boolean => stopping;

import type { Credentials, PixelRelayApi } from './pixelrelayApi.js';

export const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface EditView {
  id: string;
  status: string;
  model: string;
  outputs: { url: string }[];
  error: { code: string; message: string } | null;
  estimatedCostMicroCents: number;
  costMicroCents: number | null;
}

export interface WaitOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Where progress goes (stderr, so stdout carries only results). */
  progress: NodeJS.WriteStream;
  /** When the wait began (Date.now()), if before this call: the clock shown and the timeout count from it. */
  startedAt?: number;
}

/**
 * The progress of a wait: on a terminal, one line redrawn in place with the status and the time waited; piped, a
 * plain line per status change, so logs read well.
 */
export function waitProgress(id: string, progress: NodeJS.WriteStream, started: number) {
  const live = progress.isTTY === true;
  let lastStatus = '';
  let frame = 0;
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  return {
    live,
    draw(status: string) {
      if (live) progress.write(`\r\x1b[2K${SPINNER[frame++ % SPINNER.length]} ${id} ${status} ${elapsed()}`);
      else if (status !== lastStatus) progress.write(`${id} ${status} ${elapsed()}\n`);
      lastStatus = status;
    },
    /** Redraws the clock (a terminal only). */
    tick() {
      if (live && lastStatus) this.draw(lastStatus);
    },
    done() {
      if (live) progress.write('\n');
    },
  };
}

/** Polls the edit until it is completed, failed or cancelled, showing its progress (waitProgress). */
export async function waitForEdit(api: PixelRelayApi, credentials: Credentials, id: string, options: WaitOptions): Promise<EditView | null> {
  const started = options.startedAt ?? Date.now();
  const progress = waitProgress(id, options.progress, started);
  try {
    for (;;) {
      const edit = await api.request<EditView>('GET', `/v1/edits/${encodeURIComponent(id)}`, credentials);
      progress.draw(edit.status);
      if (TERMINAL.has(edit.status)) return edit;
      if (Date.now() - started >= options.timeoutMs) return null;
      // Redraw the clock between polls on a terminal; piped, sleep the whole interval.
      const until = Date.now() + options.intervalMs;
      while (Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, progress.live ? Math.min(100, until - Date.now()) : until - Date.now()));
        progress.tick();
      }
    }
  } finally {
    progress.done();
  }
}

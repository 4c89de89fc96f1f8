import type { Credentials, PixelRelayApi } from './pixelrelayApi.js';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
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
}

/**
 * Polls the edit until it is completed, failed or cancelled. On a terminal, one line redrawn in place with the
 * status and the time waited; piped, a plain line per status change, so logs read well.
 */
export async function waitForEdit(api: PixelRelayApi, credentials: Credentials, id: string, options: WaitOptions): Promise<EditView | null> {
  const started = Date.now();
  const live = options.progress.isTTY === true;
  let lastStatus = '';
  let frame = 0;
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const draw = (status: string) => {
    if (live) options.progress.write(`\r\x1b[2K${SPINNER[frame++ % SPINNER.length]} ${id} ${status} ${elapsed()}`);
    else if (status !== lastStatus) options.progress.write(`${id} ${status} ${elapsed()}\n`);
    lastStatus = status;
  };
  try {
    for (;;) {
      const edit = await api.request<EditView>('GET', `/v1/edits/${encodeURIComponent(id)}`, credentials);
      draw(edit.status);
      if (TERMINAL.has(edit.status)) return edit;
      if (Date.now() - started >= options.timeoutMs) return null;
      // Redraw the clock between polls on a terminal; piped, sleep the whole interval.
      const until = Date.now() + options.intervalMs;
      while (Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, live ? Math.min(100, until - Date.now()) : until - Date.now()));
        if (live) draw(edit.status);
      }
    }
  } finally {
    if (live) options.progress.write('\n');
  }
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settledEdit } from '../helpers/edits.js';
import { startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

// What an operator following one edit through the logs sees: a line per status change, each naming the edit
// (and its PixelByte job once known), and every request line its request id.

let t: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ t, stop } = await startRelayWithSimulator({}, { pendingMs: 100, processingMs: 200 }));
});
afterAll(() => stop?.());

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  editId?: string;
  jobId?: string;
  from?: string | null;
  to?: string;
  cause?: string;
  req?: unknown;
  res?: unknown;
}

describe('the logs of one edit', () => {
  it('have one info line per status change, with editId, and jobId from the moment PixelByte named the job', async () => {
    const from = t.logs.lines.length;
    const res = await t.relay.app!.inject({
      method: 'POST',
      url: '/v1/edits',
      headers: { ...t.auth, 'x-request-id': 'follow-me-1' },
      payload: { input: { prompt: 'Make the sky purple', image_urls: ['https://example.com/a.jpg'] } },
    });
    expect(res.statusCode).toBe(202);
    const id = res.json().id as string;
    const edit = await settledEdit(t, id);
    expect(edit.status).toBe('completed');
    // The completing move is logged as it is written: give the last line a moment to reach the stream.
    await new Promise((r) => setTimeout(r, 100));
    const lines = t.logs.lines.slice(from).map((l) => JSON.parse(l) as LogLine);

    const moves = lines.filter((l) => l.msg === 'edit status changed' && l.editId === id);
    const history = (edit.history as { from: string | null; to: string; cause: string }[]).filter((h) => h.from !== h.to);
    expect(moves.map((l) => [l.from, l.to, l.cause])).toEqual(history.map((h) => [h.from, h.to, h.cause]));
    expect(moves.map((l) => [l.from, l.to])).toEqual([
      [null, 'queued'],
      ['queued', 'submitting'],
      ['submitting', 'submitted'],
      ['submitted', 'completed'],
    ]);
    for (const line of moves) expect(line.level).toBe(30);
    // The job is named from the move that learnt it on.
    expect(moves.map((l) => l.jobId)).toEqual([undefined, undefined, edit.upstream.jobId, edit.upstream.jobId]);

    // Any other line that mentions the edit either names it in `editId` or is a request line carrying its reqId.
    for (const line of lines.filter((l) => JSON.stringify(l).includes(id))) {
      if (line.editId !== id) expect(line.reqId, JSON.stringify(line)).toEqual(expect.any(String));
    }
    const requestLines = lines.filter((l) => l.req !== undefined || l.res !== undefined);
    expect(requestLines.length).toBeGreaterThan(0);
    for (const line of requestLines) expect(line.reqId, JSON.stringify(line)).toEqual(expect.any(String));
    expect(requestLines.filter((l) => l.reqId === 'follow-me-1').map((l) => l.msg)).toEqual(['incoming request', 'request completed']);
  });
});

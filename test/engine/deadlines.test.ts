import { afterEach, describe, expect, it } from 'vitest';
import { eventually, type RelayWithSimulator, startRelayWithSimulator } from '../helpers/relay.js';

// Deadlines of edits PixelByte already holds: pending ones are cancelled there, processing ones finish marked.
let env: RelayWithSimulator | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

const input = { prompt: 'deadline test', image_urls: ['https://example.com/a.jpg'] };

async function postWithDeadline(): Promise<string> {
  const res = await env!.t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: env!.t.auth, payload: { input, expiresInSeconds: 1 } });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id as string;
}

describe('a deadline that passes at PixelByte', () => {
  it('while the job is pending: cancelled there, the refund recorded', async () => {
    env = await startRelayWithSimulator({}, { pendingMs: 20_000, processingMs: 500 });
    const id = await postWithDeadline();
    const edit = await eventually(
      async () => {
        const row = await env!.t.db.edit.findUniqueOrThrow({ where: { id } });
        return row.status === 'cancelled' ? row : undefined;
      },
      20_000,
      'the edit to be cancelled',
    );
    expect(edit.upstreamJobId).toMatch(/^job_/);
    expect(edit.errorCode).toBe('DEADLINE_PASSED');
    expect(edit.refundedMicroCents).toBeGreaterThan(0);
    expect(env.sim.jobs.get(edit.upstreamJobId!)?.status).toBe('cancelled');
    const causes = (await env.t.db.editTransition.findMany({ where: { editId: id }, orderBy: { id: 'asc' } })).map((h) => h.cause);
    expect(causes.at(-1)).toBe(`deadline: cancelled upstream (job ${edit.upstreamJobId})`);
  });

  it('while the job is processing: it finishes, with deadlineMissed', async () => {
    env = await startRelayWithSimulator({}, { pendingMs: 100, processingMs: 3_000 });
    const id = await postWithDeadline();
    const edit = await eventually(
      async () => {
        const res = await env!.t.relay.app!.inject({ method: 'GET', url: `/v1/edits/${id}`, headers: env!.t.auth });
        const body = res.json();
        return body.status === 'completed' ? body : undefined;
      },
      20_000,
      'the edit to complete',
    );
    expect(edit.deadlineMissed).toBe(true);
    expect(edit.outputs.length).toBeGreaterThan(0);
  });
});

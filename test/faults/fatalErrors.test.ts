import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildRelay } from '../helpers/childRelay.js';
import { sameDeploymentEnv, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

let api: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ t: api, stop } = await startRelayWithSimulator({ ROLE: 'api' }));
});
afterAll(() => stop?.());

describe('a process-level error', () => {
  it('is logged as fatal and ends the process with exit 1 through the ordered shutdown', async () => {
    const child = await startChildRelay(sameDeploymentEnv(api, { ROLE: 'worker' }), 20_000, ['./test/fixtures/rejectSoon.mjs']);
    const code = await Promise.race([child.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 20_000))]);
    if (code === 'still running') child.kill('SIGKILL');
    expect(code).toBe(1);
    const lines = child
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message: string } });
    const fatal = lines.find((l) => l.level === 60);
    expect(fatal?.msg).toBe('unhandled promise rejection: shutting down');
    expect(fatal?.err?.message).toBe('a bug nobody caught');
    // The workers and connections were closed in order before the exit.
    expect(lines.map((l) => l.msg)).toContain('shut down cleanly');
  });
});

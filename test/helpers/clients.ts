import { expect } from 'vitest';
import type { TestRelay } from './relay.js';

/** ADMIN_TOKEN for test relays that turn the admin surface on (pass `{ ADMIN_TOKEN: TEST_ADMIN_TOKEN }`). */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef-0123';
export const adminHeaders = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

export interface TestClient {
  id: string;
  apiKey: string;
  auth: { authorization: string };
}

/** Creates a client through the admin API, as an operator would. */
export async function createClient(
  t: TestRelay,
  body: { name?: string; dailyBudgetMicroCents?: number; rateLimitPerMinute?: number } = {},
): Promise<TestClient> {
  const res = await t.relay.app!.inject({ method: 'POST', url: '/admin/clients', headers: adminHeaders, payload: { name: 'test client', ...body } });
  expect(res.statusCode, res.body).toBe(201);
  const { id, apiKey } = res.json();
  return { id, apiKey, auth: { authorization: `Bearer ${apiKey}` } };
}

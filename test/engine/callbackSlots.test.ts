import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originOf, RedisCallbackSlots, type SlotGrant, type SlotLimits } from '../../src/engine/callbacks/slots.js';
import { createRedis } from '../../src/infra/redis.js';
import { testRedisUrl } from '../helpers/services.js';

// The callback slots are counted in Redis so that every worker process honours one limit per client and per origin.
// Two connections stand for two worker processes.
let redisA: Redis;
let redisB: Redis;
const prefix = `test-slots-${randomUUID().slice(0, 8)}`;

beforeAll(() => {
  redisA = createRedis(testRedisUrl(), 'worker');
  redisB = createRedis(testRedisUrl(), 'worker');
});
afterAll(async () => {
  const keys = await redisA.keys(`${prefix}:*`);
  if (keys.length) await redisA.del(...keys);
  await Promise.all([redisA.quit(), redisB.quit()]);
});

let scope = 0;
/** Slots under a prefix of their own, so each test starts with none taken. */
function slotsOn(redis: Redis[], limits: SlotLimits): RedisCallbackSlots[] {
  scope += 1;
  return redis.map((r) => new RedisCallbackSlots(r, `${prefix}:${scope}`, limits));
}
const LEASE_MS = 30_000;
const granted = (grants: SlotGrant[]) => grants.filter((g) => g.kind === 'granted');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('callback slots', () => {
  it("limit one client's attempts in flight, whatever origins it calls, and leave other clients theirs", async () => {
    const [slots] = slotsOn([redisA], { perClient: 2, perOrigin: 10 });
    const grants = [];
    for (const host of ['a', 'b', 'c']) grants.push(await slots!.acquire({ clientId: 'key_one', callbackUrl: `https://${host}.example.com/hook` }, LEASE_MS));
    expect(grants.map((g) => g.kind)).toEqual(['granted', 'granted', 'full']);
    expect(grants[2]).toMatchObject({ kind: 'full', limit: 'client' });
    expect((await slots!.acquire({ clientId: 'key_two', callbackUrl: 'https://a.example.com/hook' }, LEASE_MS)).kind).toBe('granted');

    // A released slot is free at once.
    await (grants[0] as Extract<SlotGrant, { kind: 'granted' }>).release();
    expect((await slots!.acquire({ clientId: 'key_one', callbackUrl: 'https://c.example.com/hook' }, LEASE_MS)).kind).toBe('granted');
  });

  it('limit the attempts to one origin, whichever clients point at it; paths do not matter, ports do', async () => {
    const [slots] = slotsOn([redisA], { perClient: 10, perOrigin: 2 });
    const acquire = (clientId: string, callbackUrl: string) => slots!.acquire({ clientId, callbackUrl }, LEASE_MS);
    expect((await acquire('key_1', 'https://shared.example.com/one')).kind).toBe('granted');
    expect((await acquire('key_2', 'https://SHARED.example.com:443/two')).kind).toBe('granted');
    expect(await acquire('key_3', 'https://shared.example.com/three')).toMatchObject({ kind: 'full', limit: 'origin' });
    expect((await acquire('key_3', 'https://shared.example.com:8443/three')).kind).toBe('granted');
    expect(originOf('https://SHARED.example.com:443/two?x=1')).toBe('https://shared.example.com');
  });

  it('take both slots or neither: a full origin leaves the client its slot', async () => {
    const [slots] = slotsOn([redisA], { perClient: 1, perOrigin: 1 });
    expect((await slots!.acquire({ clientId: 'key_a', callbackUrl: 'https://busy.example.com/' }, LEASE_MS)).kind).toBe('granted');
    expect(await slots!.acquire({ clientId: 'key_b', callbackUrl: 'https://busy.example.com/' }, LEASE_MS)).toMatchObject({ kind: 'full', limit: 'origin' });
    expect((await slots!.acquire({ clientId: 'key_b', callbackUrl: 'https://idle.example.com/' }, LEASE_MS)).kind).toBe('granted');
  });

  it('hold one limit across processes racing for it', async () => {
    for (let round = 0; round < 5; round += 1) {
      const [a, b] = slotsOn([redisA, redisB], { perClient: 3, perOrigin: 100 });
      const grants = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a! : b!).acquire({ clientId: 'key_race', callbackUrl: `https://h${i}.example.com/` }, LEASE_MS)),
      );
      expect(granted(grants)).toHaveLength(3);
    }
  });

  it('say how long the longest-held slot of a full limit has been held, which paces the wait for one', async () => {
    const [slots] = slotsOn([redisA], { perClient: 2, perOrigin: 10 });
    const acquire = () => slots!.acquire({ clientId: 'key_slow', callbackUrl: 'https://slow.example.com/' }, LEASE_MS);
    expect((await acquire()).kind).toBe('granted');
    await sleep(300);
    expect((await acquire()).kind).toBe('granted');
    const full = await acquire();
    if (full.kind !== 'full') throw new Error(`not full: ${full.kind}`);
    expect(full.heldForMs).toBeGreaterThanOrEqual(250);
    expect(full.heldForMs).toBeLessThan(LEASE_MS);
  });

  it('free a slot whose holder never released it (a worker that died) when its lease runs out', async () => {
    const [slots] = slotsOn([redisA], { perClient: 1, perOrigin: 1 });
    const owner = { clientId: 'key_dead', callbackUrl: 'https://dead.example.com/' };
    expect((await slots!.acquire(owner, 200)).kind).toBe('granted');
    expect((await slots!.acquire(owner, 200)).kind).toBe('full');
    await sleep(300);
    expect((await slots!.acquire(owner, LEASE_MS)).kind).toBe('granted');
  });
});

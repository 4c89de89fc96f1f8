import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Slots for callback attempts, per client and per origin, shared by every worker process through Redis. All
 * deliveries share the workers' concurrency, and an attempt to a receiver that never answers holds its worker slot
 * for the whole CALLBACK_TIMEOUT_MS: without a limit per client and per origin (several clients may point at one),
 * one hanging receiver would take every slot and hold up everybody else's callbacks. An attempt takes a slot of its
 * client and of its origin first; without one, its delivery waits (deliverCallback.ts). BullMQ (open source) has
 * no group concurrency to do this.
 *
 * A slot is a member of a sorted set scored by when its lease runs out, so a worker that dies holding one frees it
 * at the lease's end; times are Redis's own clock, the same for every process.
 */

/** Whose slots an attempt takes: the edit's client and the callbackUrl's origin. */
export interface SlotOwner {
  clientId: string;
  callbackUrl: string;
}

export type SlotGrant =
  | { kind: 'granted'; release(): Promise<void> }
  /** `heldForMs`: how long the longest-held slot of the full limit has been held. */
  | { kind: 'full'; limit: 'client' | 'origin'; heldForMs: number };

export interface CallbackSlots {
  /** Takes a slot of the client and one of the origin, both or neither, held for `leaseMs` unless released first. */
  acquire(owner: SlotOwner, leaseMs: number): Promise<SlotGrant>;
}

export interface SlotLimits {
  perClient: number;
  perOrigin: number;
}

// KEYS: the client's and the origin's sorted sets. ARGV: member, lease (ms), then each key's limit.
// Returns {0} when both were taken, else {the 1-based index of the key that is full, how long its longest-held slot
// has been held} (from the earliest lease end, as every worker's lease is the same length).
const ACQUIRE_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local lease = tonumber(ARGV[2])
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[2 + i]) then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    return {i, math.max(0, now - (tonumber(oldest[2]) - lease))}
  end
end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now + lease, ARGV[1])
  if redis.call('PTTL', KEYS[i]) < lease then redis.call('PEXPIRE', KEYS[i], lease) end
end
return {0}`;

const COMMAND = 'pixelrelayAcquireCallbackSlots';
type WithAcquire = Record<typeof COMMAND, (clientKey: string, originKey: string, member: string, leaseMs: number, ...limits: number[]) => Promise<number[]>>;

/** The origin a callbackUrl's slots are counted under; a URL that does not parse counts as itself. */
export function originOf(callbackUrl: string): string {
  try {
    return new URL(callbackUrl).origin;
  } catch {
    return callbackUrl;
  }
}

export class RedisCallbackSlots implements CallbackSlots {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: SlotLimits,
  ) {
    // defineCommand runs the script by its SHA and loads it again when Redis has lost it (a restart).
    if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 2, lua: ACQUIRE_SCRIPT });
  }

  async acquire(owner: SlotOwner, leaseMs: number): Promise<SlotGrant> {
    const keys = [`${this.prefix}:callback-slots:client:${owner.clientId}`, `${this.prefix}:callback-slots:origin:${originOf(owner.callbackUrl)}`] as const;
    const member = randomUUID();
    const [full, heldForMs = 0] = await (this.redis as unknown as WithAcquire)[COMMAND](
      ...keys,
      member,
      Math.ceil(leaseMs),
      this.limits.perClient,
      this.limits.perOrigin,
    );
    if (full !== 0) return { kind: 'full', limit: full === 1 ? 'client' : 'origin', heldForMs };
    return {
      kind: 'granted',
      release: async () => {
        await this.redis.multi().zrem(keys[0], member).zrem(keys[1], member).exec();
      },
    };
  }
}

import type { ApiKey, Client } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';

export type { ApiKey, Client };
export type ClientWithKeys = Client & { apiKeys: ApiKey[] };

export interface NewClient {
  id: string;
  name: string;
  dailyBudgetMicroCents: bigint | null;
  rateLimitPerMinute: number | null;
}

export interface NewApiKey {
  id: string;
  prefix: string;
  hash: string;
}

export interface LiveKey {
  keyId: string;
  clientId: string;
  dailyBudgetMicroCents: bigint | null;
  rateLimitPerMinute: number | null;
}

export type ClientChanges = Partial<Pick<NewClient, 'name' | 'dailyBudgetMicroCents' | 'rateLimitPerMinute'>>;

const keysOldestFirst = { apiKeys: { orderBy: { createdAt: 'asc' as const } } };

/** Prisma queries for clients, their keys and their daily spend. */
export class ClientRepository {
  constructor(private readonly db: Db) {}

  /** A client is never without a key: both are stored in one transaction. */
  async create(client: NewClient, key: NewApiKey): Promise<ClientWithKeys> {
    return this.db.$transaction(async (tx) => {
      await tx.client.create({ data: client });
      await tx.apiKey.create({ data: { ...key, clientId: client.id } });
      return tx.client.findUniqueOrThrow({ where: { id: client.id }, include: keysOldestFirst });
    });
  }

  list(): Promise<ClientWithKeys[]> {
    return this.db.client.findMany({ include: keysOldestFirst, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  findById(id: string): Promise<ClientWithKeys | null> {
    return this.db.client.findUnique({ where: { id }, include: keysOldestFirst });
  }

  async update(id: string, changes: ClientChanges): Promise<ClientWithKeys | null> {
    const { count } = await this.db.client.updateMany({ where: { id }, data: changes });
    return count === 1 ? this.findById(id) : null;
  }

  /** Null when the client does not exist. */
  async addKey(clientId: string, key: NewApiKey): Promise<ApiKey | null> {
    return this.db.$transaction(async (tx) => {
      // Locks the client row, so the key cannot be added to a client deleted meanwhile (and no FK error surfaces).
      const owners = await tx.$queryRaw<unknown[]>`SELECT 1 FROM "Client" WHERE "id" = ${clientId}::uuid FOR SHARE`;
      if (owners.length === 0) return null;
      return tx.apiKey.create({ data: { ...key, clientId } });
    });
  }

  /** Revokes once: a second call leaves the first revocation time. Null when no such key exists. */
  async revokeKey(id: string): Promise<ApiKey | null> {
    await this.db.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
    return this.db.apiKey.findUnique({ where: { id } });
  }

  /**
   * The live key with this hash and what the request needs of its client: one statement through the unique index
   * on `hash`, run on every API request. Raw SQL, as Prisma's `include` would make it two round trips.
   */
  async findLiveKey(hash: string): Promise<LiveKey | null> {
    const [key] = await this.db.$queryRaw<LiveKey[]>`
      SELECT k."id" AS "keyId", c."id" AS "clientId", c."dailyBudgetMicroCents", c."rateLimitPerMinute"
      FROM "ApiKey" k JOIN "Client" c ON c."id" = k."clientId"
      WHERE k."hash" = ${hash} AND k."revokedAt" IS NULL`;
    return key ?? null;
  }

  async touchKey(id: string, at: Date): Promise<void> {
    await this.db.apiKey.updateMany({ where: { id }, data: { lastUsedAt: at } });
  }

  /** What counts against the client's budget on `day` (a UTC date, YYYY-MM-DD). */
  async reservedOn(clientId: string, day: string): Promise<bigint> {
    const row = await this.db.clientDailySpend.findUnique({ where: { clientId_day: { clientId, day: new Date(`${day}T00:00:00.000Z`) } } });
    return row?.reservedMicroCents ?? 0n;
  }
}

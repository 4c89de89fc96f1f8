import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError } from '../../errors.js';
import { isUuid } from '../../shared/ids.js';
import { budgetDay } from '../../store/clients/budgetDay.js';
import type { ApiKey, ClientRepository, ClientWithKeys } from '../../store/clients/repository.js';
import type { ClientDetail, ClientView, CreateClientBody, UpdateClientBody } from '../schemas/clients.js';
import { hashApiKey, issueApiKey, looksLikeApiKey } from './keys.js';

/** Who sent an API request, as the bearer auth resolved its key. */
export interface Caller {
  /** What Edit.clientId holds for this caller's edits: a Client id, or a bootstrap key's fingerprint. */
  id: string;
  /** `bootstrap`: a key of API_KEYS, with no budget and no rate limit. */
  kind: 'registered' | 'bootstrap';
  dailyBudgetMicroCents: number | null;
  rateLimitPerMinute: number | null;
  /** Edits it may have waiting at once; null: no limit of its own. */
  maxQueued: number | null;
}

export interface ClientServiceDeps {
  clients: ClientRepository;
  logger: Logger;
  /** How stale `lastUsedAt` may get: the write is skipped while the last one is younger. */
  touchIntervalMs?: number;
}

const clientNotFound = (id: string) => new AppError('CLIENT_NOT_FOUND', `No client with id ${id}`);
const keyNotFound = (id: string) => new AppError('API_KEY_NOT_FOUND', `No API key with id ${id}`);

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const budgetOf = (client: { dailyBudgetMicroCents: bigint | null }) => (client.dailyBudgetMicroCents === null ? null : Number(client.dailyBudgetMicroCents));

function keyView(key: ApiKey) {
  return { id: key.id, prefix: key.prefix, createdAt: key.createdAt.toISOString(), revokedAt: iso(key.revokedAt), lastUsedAt: iso(key.lastUsedAt) };
}

function clientView(client: ClientWithKeys): ClientView {
  return {
    id: client.id,
    name: client.name,
    dailyBudgetMicroCents: budgetOf(client),
    rateLimitPerMinute: client.rateLimitPerMinute,
    weight: client.weight,
    maxConcurrency: client.maxConcurrency,
    maxQueued: client.maxQueued,
    createdAt: client.createdAt.toISOString(),
    updatedAt: client.updatedAt.toISOString(),
    keys: client.apiKeys.map(keyView),
  };
}

/** Clients and their keys: what the admin API manages, and what turns a bearer key into a Caller. */
export class ClientService {
  /** When each key's lastUsedAt was last written by this process: not a cache of keys, only of that write. */
  private readonly touched = new Map<string, number>();

  constructor(private readonly deps: ClientServiceDeps) {}

  async create(body: CreateClientBody) {
    const key = issueApiKey();
    const client = await this.deps.clients.create(
      {
        id: randomUUID(),
        name: body.name,
        dailyBudgetMicroCents: body.dailyBudgetMicroCents === undefined ? null : BigInt(body.dailyBudgetMicroCents),
        rateLimitPerMinute: body.rateLimitPerMinute ?? null,
        weight: body.weight ?? 1,
        maxConcurrency: body.maxConcurrency ?? null,
        maxQueued: body.maxQueued ?? null,
      },
      { id: randomUUID(), prefix: key.prefix, hash: key.hash },
    );
    const { updatedAt: _updatedAt, keys: _keys, ...created } = clientView(client);
    return { ...created, apiKey: key.apiKey };
  }

  async list(): Promise<ClientView[]> {
    return (await this.deps.clients.list()).map(clientView);
  }

  async get(id: string): Promise<ClientDetail> {
    const client = isUuid(id) ? await this.deps.clients.findById(id) : null;
    if (!client) throw clientNotFound(id);
    const day = budgetDay(new Date());
    const spent = Number(await this.deps.clients.reservedOn(id, day));
    const budget = budgetOf(client);
    return { ...clientView(client), today: { day, spentMicroCents: spent, remainingMicroCents: budget === null ? null : Math.max(0, budget - spent) } };
  }

  async update(id: string, body: UpdateClientBody): Promise<ClientView> {
    const { dailyBudgetMicroCents: budget, ...rest } = body;
    const changes = { ...rest, ...(budget === undefined ? {} : { dailyBudgetMicroCents: budget === null ? null : BigInt(budget) }) };
    const client = isUuid(id) ? await this.deps.clients.update(id, changes) : null;
    if (!client) throw clientNotFound(id);
    return clientView(client);
  }

  async issueKey(clientId: string): Promise<{ id: string; prefix: string; apiKey: string }> {
    const key = issueApiKey();
    const stored = isUuid(clientId) ? await this.deps.clients.addKey(clientId, { id: randomUUID(), prefix: key.prefix, hash: key.hash }) : null;
    if (!stored) throw clientNotFound(clientId);
    return { id: stored.id, prefix: stored.prefix, apiKey: key.apiKey };
  }

  async revokeKey(keyId: string) {
    const key = isUuid(keyId) ? await this.deps.clients.revokeKey(keyId) : null;
    if (!key) throw keyNotFound(keyId);
    return keyView(key);
  }

  /**
   * The registered client a bearer key stands for, or null. Found by the key's hash through a unique index, afresh
   * on every request: a revoked key is refused by every replica on its very next request. The lookup leaks nothing
   * through timing: which index pages it touches depends on the SHA-256 of the key, which says nothing of a key
   * one does not already hold.
   */
  async findCaller(apiKey: string): Promise<Caller | null> {
    if (!looksLikeApiKey(apiKey)) return null;
    const key = await this.deps.clients.findLiveKey(hashApiKey(apiKey));
    if (!key) return null;
    this.touch(key.keyId);
    return {
      id: key.clientId,
      kind: 'registered',
      dailyBudgetMicroCents: budgetOf(key),
      rateLimitPerMinute: key.rateLimitPerMinute,
      maxQueued: key.maxQueued,
    };
  }

  /** Records lastUsedAt in the background, at most once per interval per key and process: never a write per request. */
  private touch(keyId: string): void {
    const now = Date.now();
    const last = this.touched.get(keyId);
    if (last !== undefined && now - last < (this.deps.touchIntervalMs ?? 60_000)) return;
    this.touched.set(keyId, now);
    this.deps.clients.touchKey(keyId, new Date(now)).catch((err) => this.deps.logger.warn({ err, keyId }, 'could not record when an API key was used'));
  }
}

import type { ApiKey, Client } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';
import { addKey, type NewApiKey } from './addKey.js';
import { createClient, type NewClient } from './createClient.js';
import { findLiveKey, type LiveKey } from './findLiveKey.js';
import type { ClientWithKeys } from './reads.js';
import * as reads from './reads.js';
import { revokeKey } from './revokeKey.js';
import { touchKey } from './touchKey.js';
import { type ClientChanges, updateClient } from './updateClient.js';

export type { ApiKey, Client, ClientChanges, ClientWithKeys, LiveKey, NewApiKey, NewClient };

/**
 * Clients, their keys and their daily spend, as the engine uses them: each method is one operation of its own file
 * beside this one; this object only binds them to a database.
 */
export class ClientRepository {
  constructor(private readonly db: Db) {}

  create(client: NewClient, key: NewApiKey): Promise<ClientWithKeys> {
    return createClient(this.db, client, key);
  }

  list(): Promise<ClientWithKeys[]> {
    return reads.list(this.db);
  }

  findById(id: string): Promise<ClientWithKeys | null> {
    return reads.findById(this.db, id);
  }

  update(id: string, changes: ClientChanges): Promise<ClientWithKeys | null> {
    return updateClient(this.db, id, changes);
  }

  addKey(clientId: string, key: NewApiKey): Promise<ApiKey | null> {
    return addKey(this.db, clientId, key);
  }

  revokeKey(id: string): Promise<ApiKey | null> {
    return revokeKey(this.db, id);
  }

  findLiveKey(hash: string): Promise<LiveKey | null> {
    return findLiveKey(this.db, hash);
  }

  touchKey(id: string, at: Date): Promise<void> {
    return touchKey(this.db, id, at);
  }

  reservedOn(clientId: string, day: string): Promise<bigint> {
    return reads.reservedOn(this.db, clientId, day);
  }
}

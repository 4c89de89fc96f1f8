import pg from 'pg';

/** The bench's own database on the local Postgres: created fresh, dropped at the end. */
export class Database {
  private client: pg.Client | undefined;

  private constructor(
    readonly serverUrl: string,
    readonly name: string,
    readonly url: string,
  ) {}

  static async create(serverUrl: string, name: string): Promise<Database> {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
    } finally {
      await admin.end();
    }
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return new Database(serverUrl, name, url.toString());
  }

  private async connection(): Promise<pg.Client> {
    if (!this.client) {
      this.client = new pg.Client({ connectionString: this.url });
      await this.client.connect();
    }
    return this.client;
  }

  async exec(sql: string): Promise<void> {
    await (await this.connection()).query(sql);
  }

  async query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await (await this.connection()).query<T>(sql, params)).rows;
  }

  /** Edits per status. */
  async statusCounts(): Promise<Record<string, number>> {
    const rows = await this.query<{ status: string; n: string }>('SELECT status::text AS status, count(*) AS n FROM "Edit" GROUP BY status');
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /**
   * When each of `editIds` reached its terminal status (the terminal history row, written in the same
   * transaction as the status change; ms resolution, the columns are timestamp(3) in UTC) and why.
   */
  async terminalTransitions(editIds: string[]): Promise<Map<string, { at: number; cause: string }>> {
    const rows = await this.query<{ id: string; at: string; cause: string }>(
      `SELECT "editId" AS id, extract(epoch FROM at) * 1000 AS at, cause FROM "EditTransition"
        WHERE "editId" = ANY($1::uuid[]) AND "toStatus"::text IN ('completed', 'failed', 'cancelled') AND "fromStatus" IS DISTINCT FROM "toStatus"`,
      [editIds],
    );
    return new Map(rows.map((r) => [r.id, { at: Number(r.at), cause: r.cause }]));
  }

  /** Postgres's counters for this database (committed transactions include every statement run outside one). */
  async activity(): Promise<Record<string, number>> {
    const [row] = await this.query<Record<string, string>>(
      `SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched FROM pg_stat_database WHERE datname = $1`,
      [this.name],
    );
    return Object.fromEntries(Object.entries(row ?? {}).map(([k, v]) => [k, Number(v)]));
  }

  /** Pids of the Postgres backends connected to this database (the relay's pools, and the bench's own poller). */
  async backendPids(): Promise<number[]> {
    return (await this.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [this.name])).map((r) => r.pid);
  }

  async timezone(): Promise<string> {
    return (await this.query<{ tz: string }>('SELECT current_setting($1) AS tz', ['TimeZone']))[0]?.tz ?? '?';
  }

  async drop(): Promise<void> {
    await this.client?.end().catch(() => {});
    this.client = undefined;
    const admin = new pg.Client({ connectionString: this.serverUrl });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${this.name}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
}

export const TERMINAL = ['completed', 'failed', 'cancelled'];
export const terminalCount = (counts: Record<string, number>) => TERMINAL.reduce((n, s) => n + (counts[s] ?? 0), 0);

import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Database } from './database.js';

const run = promisify(execFile);

export interface Ceilings {
  /** pgbench: single-row INSERT transactions committed per second. */
  insertCommitsPerSec: number;
  insertClients: number;
  insertSeconds: number;
  /** redis-benchmark PING_INLINE round trips per second, no pipelining. */
  redisRoundTripsPerSec: number;
  redisClients: number;
  /** The commands, so anyone can run them again by hand. */
  commands: string[];
}

/**
 * This machine's own limits, measured in the same run with the same drivers the relay uses: Postgres
 * committing one-row INSERTs from as many connections as one relay process's pool, and Redis round trips.
 */
export async function measureCeilings(db: Database, options: { clients: number; seconds: number; redisUrl: string; workDir: string }): Promise<Ceilings> {
  const table = 'bench_insert_ceiling';
  await db.exec(`CREATE TABLE ${table} (id uuid PRIMARY KEY, body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
  const script = join(options.workDir, 'insert.sql');
  // A row shaped a little like an edit: a uuid key, a small JSON document, a timestamp.
  writeFileSync(
    script,
    `INSERT INTO ${table} (id, body) VALUES (gen_random_uuid(), '{"prompt":"bench","image_urls":["https://example.com/a.jpg"],"num_images":"1"}');\n`,
  );
  const url = new URL(db.url);
  const pgArgs = [
    '-n',
    '-f',
    script,
    '-c',
    String(options.clients),
    '-j',
    '2',
    '-T',
    String(options.seconds),
    '-h',
    url.hostname,
    '-p',
    url.port || '5432',
    '-U',
    decodeURIComponent(url.username || 'postgres'),
    url.pathname.slice(1),
  ];
  const pg = await run('pgbench', pgArgs, { env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) } });
  const tps = /tps = ([\d.]+)/.exec(pg.stdout)?.[1];
  if (!tps) throw new Error(`pgbench printed no tps:\n${pg.stdout}\n${pg.stderr}`);
  await db.exec(`DROP TABLE ${table}`);

  const redis = new URL(options.redisUrl);
  const redisArgs = ['-h', redis.hostname, '-p', redis.port || '6379', '-n', '200000', '-c', String(options.clients), '-t', 'ping_inline', '--csv'];
  const rb = await run('redis-benchmark', redisArgs);
  const rps = /"PING_INLINE","([\d.]+)"/.exec(rb.stdout)?.[1];
  if (!rps) throw new Error(`redis-benchmark printed no PING_INLINE rate:\n${rb.stdout}\n${rb.stderr}`);

  return {
    insertCommitsPerSec: Math.round(Number(tps)),
    insertClients: options.clients,
    insertSeconds: options.seconds,
    redisRoundTripsPerSec: Math.round(Number(rps)),
    redisClients: options.clients,
    commands: [`pgbench ${pgArgs.join(' ')}`, `redis-benchmark ${redisArgs.join(' ')}`],
  };
}

import { createHash } from 'node:crypto';

/** Edit ids are UUIDs; anything else is refused before it reaches a query (Postgres would reject it as a uuid). */
export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

/** A stable, non-secret name for whoever holds a bearer token. */
export function clientIdOf(token: string): string {
  return `key_${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
}

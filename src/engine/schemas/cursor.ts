import { isUuid } from '../../shared/ids.js';

/** Opaque list cursors: the sort key of the last row seen, so pages stay stable while new edits arrive. */
export interface CursorPosition {
  createdAt: Date;
  id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id])).toString('base64url');
}

/**
 * Years 0001–9999 in toISOString's own form, which is all encodeCursor ever writes. JS dates reach year -271821,
 * but the Prisma adapter sends a year as a plain number and Postgres refuses year 0 and earlier (it spells them
 * `… BC`): such a cursor must be refused here, not by the database.
 */
const CURSOR_DATE = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function decodeCursor(cursor: string): CursorPosition | null {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt !== 'string' || typeof id !== 'string' || !isUuid(id) || !CURSOR_DATE.test(createdAt)) return null;
    const date = new Date(createdAt);
    // Only what encodeCursor could have written: this refuses 30 February, which Date would roll into March.
    return !Number.isNaN(date.getTime()) && date.toISOString() === createdAt ? { createdAt: date, id } : null;
  } catch {
    return null;
  }
}

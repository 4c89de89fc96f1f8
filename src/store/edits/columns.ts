import type { Edit } from '../../generated/prisma/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import { json, listColumns, literalList, pickColumns, type Row } from '../../infra/sql.js';
import { UNCERTAIN_OUTCOMES } from './status.js';

/**
 * What the edits' statements share: the columns they list, the row decoder, the facts a status move may write and
 * the lookup of an edit's own rows. Each statement is its own file beside this one; a statement's own column lists
 * are built there, once, as these are here (every hot statement lists them on every call).
 */

const { sql, raw } = Prisma;
type Sql = Prisma.Sql;

export const EDIT_COLUMNS = Object.values(Prisma.EditScalarFieldEnum);
export type EditColumn = (typeof EDIT_COLUMNS)[number];

/** `e."id", …`: the edit's columns under the alias every statement gives its row. */
export const EDIT_COLUMN_LIST = listColumns('e', EDIT_COLUMNS);

export const UNCERTAIN = literalList(UNCERTAIN_OUTCOMES);

export const editOf = (row: Row): Edit => pickColumns<Edit>(row, EDIT_COLUMNS);

/**
 * The eventXid of a status change to the edit whose row `alias` is, as locked by the statement (its latest version):
 * the larger of this transaction's id and the edit's previous change's. Written to the history row and to the
 * edit's "lastEventXid" together, so that a client's event stream, ordered by it, keeps each edit's own order even
 * when a later change's transaction got its id first (see EditTransition.eventXid). Read from the locked row, never
 * from "EditTransition": a statement that waited for the lock still reads other tables as its snapshot had them.
 */
export const nextEventXid = (alias: string): Sql => raw(`GREATEST(pg_current_xact_id(), ${alias}."lastEventXid")`);

/**
 * A lookup of one edit's rows, by the index that starts with its id: a scalar subquery with LIMIT, where EXISTS
 * would let the planner hash (or anti-join) the whole table once per statement instead, which it does when its
 * statistics still think the table small (a table that grew since the last ANALYZE).
 */
export const probe = (query: Sql): Sql => sql`(${query} LIMIT 1)`;

// --- facts a move writes besides the status ---

/** The columns a status move may set, with their SQL types: a whitelist, so no caller's key ever reaches the SQL text. */
const FACT_TYPES = {
  upstreamJobId: 'text',
  upstreamRequestId: 'text',
  upstreamStatus: 'text',
  estimatedCompletionAt: 'timestamp(3)',
  costMicroCents: 'int4',
  refundedMicroCents: 'int4',
  outputs: 'jsonb',
  errorCode: 'text',
  errorMessage: 'text',
  submittedAt: 'timestamp(3)',
  completedAt: 'timestamp(3)',
  nextPollAt: 'timestamp(3)',
} as const;
type FactColumn = keyof typeof FACT_TYPES;
export const FACT_COLUMNS = Object.keys(FACT_TYPES) as FactColumn[];

/** Facts a status move writes besides the status (`updatedAt` is always set). */
export type EditFacts = { [K in Exclude<FactColumn, 'outputs'>]?: Edit[K] } & { outputs?: Prisma.InputJsonValue };

export const factValue = (column: FactColumn, value: unknown): Sql =>
  sql`${FACT_TYPES[column] === 'jsonb' && value !== null ? json(value) : value}::${raw(FACT_TYPES[column])}`;

/** `"col" = value, …` for the facts given, in a fixed order (one statement text per set of facts, prepared once). */
export function setFacts(facts: EditFacts): Sql[] {
  return FACT_COLUMNS.filter((c) => facts[c] !== undefined).map((c) => sql`${raw(`"${c}"`)} = ${factValue(c, facts[c])}`);
}

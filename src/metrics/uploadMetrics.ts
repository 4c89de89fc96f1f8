import { Prisma } from '../generated/prisma/client.js';
import type { SqlQuery } from '../infra/sql.js';
import type { Sample } from './scrapedMetric.js';

/** Uploads recorded (each on PixelByte's storage), by the type read from their bytes. */
export interface UploadRow {
  contentType: string;
  uploads: number;
  bytes: number;
}

/** One grouped scan of the uploads, inside the scrape's snapshot (see databaseMetrics.ts). */
export async function readUploadStats(q: SqlQuery): Promise<UploadRow[]> {
  const rows = await q.rows(Prisma.sql`
    SELECT "contentType" AS "contentType", count(*)::int AS uploads, coalesce(sum(bytes), 0)::bigint AS bytes
    FROM "Upload" GROUP BY 1`);
  return rows.map((r) => ({ contentType: String(r.contentType), uploads: Number(r.uploads ?? 0), bytes: Number(r.bytes ?? 0) }));
}

/** The families these rows give, as registerDatabaseMetrics registers them. */
export const UPLOAD_FAMILIES: { name: string; help: string; samples: (rows: UploadRow[]) => Sample[] }[] = [
  {
    name: 'pixelrelay_uploads_stored_total',
    help: 'Uploads recorded (POST /v1/uploads, and edits’ data: URLs), each on PixelByte’s storage, by content type (read from the bytes). From Postgres.',
    samples: (rows) => rows.map((r) => ({ labels: { content_type: r.contentType }, value: r.uploads })),
  },
  {
    name: 'pixelrelay_uploaded_bytes_total',
    help: 'Bytes of the uploads recorded, put on PixelByte’s storage, by content type. From Postgres.',
    samples: (rows) => rows.map((r) => ({ labels: { content_type: r.contentType }, value: r.bytes })),
  },
];

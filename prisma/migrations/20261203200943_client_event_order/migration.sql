-- GET /v1/events: a client's status changes in an order that a reader can resume without a gap
-- (see EditTransition.eventXid in schema.prisma and engine/watch/clientEvents.ts).

-- Rows written before this migration have all committed long ago: '0' orders them first, by id, and costs no
-- table rewrite (a volatile default would rewrite both tables under their exclusive lock).
ALTER TABLE "Edit" ADD COLUMN "lastEventXid" xid8 NOT NULL DEFAULT '0';
ALTER TABLE "Edit" ALTER COLUMN "lastEventXid" SET DEFAULT pg_current_xact_id();

ALTER TABLE "EditTransition" ADD COLUMN "clientId" TEXT,
ADD COLUMN "eventXid" xid8 NOT NULL DEFAULT '0';
ALTER TABLE "EditTransition" ALTER COLUMN "eventXid" SET DEFAULT pg_current_xact_id();

-- Every history row takes its edit's client.
UPDATE "EditTransition" t SET "clientId" = e."clientId" FROM "Edit" e WHERE e."id" = t."editId";
ALTER TABLE "EditTransition" ALTER COLUMN "clientId" SET NOT NULL;

-- CreateIndex
CREATE INDEX "EditTransition_clientId_eventXid_id_idx" ON "EditTransition"("clientId", "eventXid", "id");

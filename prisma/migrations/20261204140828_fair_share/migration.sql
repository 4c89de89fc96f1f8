-- CreateEnum
CREATE TYPE "EditPriority" AS ENUM ('high', 'normal', 'low');

-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "maxConcurrency" INTEGER,
ADD COLUMN     "maxQueued" INTEGER,
ADD COLUMN     "weight" INTEGER NOT NULL DEFAULT 1;

-- AlterTable
ALTER TABLE "Edit" ADD COLUMN     "deadlineAt" TIMESTAMP(3),
ADD COLUMN     "deadlineMissed" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "priority" "EditPriority" NOT NULL DEFAULT 'normal';

-- CreateTable
CREATE TABLE "ClientQueue" (
    "clientId" TEXT NOT NULL,
    "queued" INTEGER NOT NULL DEFAULT 0,
    "inFlight" INTEGER NOT NULL DEFAULT 0,
    "lastServedAt" TIMESTAMP(3),

    CONSTRAINT "ClientQueue_pkey" PRIMARY KEY ("clientId")
);

-- CreateIndex
CREATE INDEX "ClientQueue_queued_idx" ON "ClientQueue"("queued");

-- CreateIndex
CREATE INDEX "Edit_clientId_status_priority_createdAt_id_idx" ON "Edit"("clientId", "status", "priority", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Edit_status_deadlineAt_idx" ON "Edit"("status", "deadlineAt");

-- ClientQueue's counts follow every change of an edit's status, whichever statement makes it. Statement-level, with
-- the changed rows aggregated per client and written in clientId order: a batch of edits of many clients locks their
-- rows in one order, so two batches never deadlock on each other.
CREATE FUNCTION "ClientQueue_count"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "ClientQueue" AS q ("clientId", "queued", "inFlight")
    SELECT n."clientId",
           count(*) FILTER (WHERE n."status" = 'queued'),
           count(*) FILTER (WHERE n."status" IN ('submitting', 'submitted', 'processing'))
    FROM new_edits n GROUP BY n."clientId" ORDER BY n."clientId"
    ON CONFLICT ("clientId") DO UPDATE SET "queued" = q."queued" + EXCLUDED."queued", "inFlight" = q."inFlight" + EXCLUDED."inFlight";
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO "ClientQueue" AS q ("clientId", "queued", "inFlight")
    SELECT n."clientId",
           sum((n."status" = 'queued')::int - (o."status" = 'queued')::int),
           sum((n."status" IN ('submitting', 'submitted', 'processing'))::int - (o."status" IN ('submitting', 'submitted', 'processing'))::int)
    FROM new_edits n JOIN old_edits o ON o."id" = n."id"
    WHERE n."status" IS DISTINCT FROM o."status"
    GROUP BY n."clientId" ORDER BY n."clientId"
    ON CONFLICT ("clientId") DO UPDATE SET "queued" = q."queued" + EXCLUDED."queued", "inFlight" = q."inFlight" + EXCLUDED."inFlight";
  ELSE
    INSERT INTO "ClientQueue" AS q ("clientId", "queued", "inFlight")
    SELECT o."clientId",
           -count(*) FILTER (WHERE o."status" = 'queued'),
           -count(*) FILTER (WHERE o."status" IN ('submitting', 'submitted', 'processing'))
    FROM old_edits o GROUP BY o."clientId" ORDER BY o."clientId"
    ON CONFLICT ("clientId") DO UPDATE SET "queued" = q."queued" + EXCLUDED."queued", "inFlight" = q."inFlight" + EXCLUDED."inFlight";
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER "Edit_count_inserted" AFTER INSERT ON "Edit" REFERENCING NEW TABLE AS new_edits
  FOR EACH STATEMENT EXECUTE FUNCTION "ClientQueue_count"();
CREATE TRIGGER "Edit_count_updated" AFTER UPDATE ON "Edit" REFERENCING OLD TABLE AS old_edits NEW TABLE AS new_edits
  FOR EACH STATEMENT EXECUTE FUNCTION "ClientQueue_count"();
CREATE TRIGGER "Edit_count_deleted" AFTER DELETE ON "Edit" REFERENCING OLD TABLE AS old_edits
  FOR EACH STATEMENT EXECUTE FUNCTION "ClientQueue_count"();

-- The edits already waiting or in flight when this runs.
INSERT INTO "ClientQueue" ("clientId", "queued", "inFlight")
SELECT "clientId", count(*) FILTER (WHERE "status" = 'queued'), count(*) FILTER (WHERE "status" IN ('submitting', 'submitted', 'processing'))
FROM "Edit" WHERE "status" IN ('queued', 'submitting', 'submitted', 'processing') GROUP BY "clientId";

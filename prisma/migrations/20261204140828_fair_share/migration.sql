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
    "lastServedAt" TIMESTAMP(3),

    CONSTRAINT "ClientQueue_pkey" PRIMARY KEY ("clientId")
);

-- CreateIndex
CREATE INDEX "Edit_clientId_status_priority_createdAt_id_idx" ON "Edit"("clientId", "status", "priority", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Edit_status_deadlineAt_idx" ON "Edit"("status", "deadlineAt");

-- ClientQueue counts each client's queued edits, whichever statement makes or moves them. An insert (a batch of
-- edits of many clients) is counted once per statement, its clients' rows written in clientId order, so two batches
-- never deadlock on each other. An update is counted per row, and only when it enters or leaves `queued` (the WHEN
-- is judged without calling the function): the moves after the claim, a webhook's among them, never touch the table.
CREATE FUNCTION "ClientQueue_count_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "ClientQueue" AS q ("clientId", "queued")
  SELECT n."clientId", count(*) FROM new_edits n WHERE n."status" = 'queued' GROUP BY n."clientId" ORDER BY n."clientId"
  ON CONFLICT ("clientId") DO UPDATE SET "queued" = q."queued" + EXCLUDED."queued";
  RETURN NULL;
END;
$$;

CREATE FUNCTION "ClientQueue_count_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "ClientQueue" q SET "queued" = q."queued" - d."n"
  FROM (SELECT o."clientId", count(*) AS "n" FROM old_edits o WHERE o."status" = 'queued' GROUP BY o."clientId" ORDER BY o."clientId") d
  WHERE q."clientId" = d."clientId";
  RETURN NULL;
END;
$$;

CREATE FUNCTION "ClientQueue_count_moved"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "ClientQueue" AS q ("clientId", "queued")
  VALUES (NEW."clientId", CASE WHEN NEW."status" = 'queued' THEN 1 ELSE -1 END)
  ON CONFLICT ("clientId") DO UPDATE SET "queued" = q."queued" + EXCLUDED."queued";
  RETURN NULL;
END;
$$;

CREATE TRIGGER "Edit_count_inserted" AFTER INSERT ON "Edit" REFERENCING NEW TABLE AS new_edits
  FOR EACH STATEMENT EXECUTE FUNCTION "ClientQueue_count_inserted"();
CREATE TRIGGER "Edit_count_deleted" AFTER DELETE ON "Edit" REFERENCING OLD TABLE AS old_edits
  FOR EACH STATEMENT EXECUTE FUNCTION "ClientQueue_count_deleted"();
CREATE TRIGGER "Edit_count_moved" AFTER UPDATE OF "status" ON "Edit"
  FOR EACH ROW WHEN ((OLD."status" = 'queued') IS DISTINCT FROM (NEW."status" = 'queued')) EXECUTE FUNCTION "ClientQueue_count_moved"();

-- The edits already waiting when this runs.
INSERT INTO "ClientQueue" ("clientId", "queued")
SELECT "clientId", count(*) FROM "Edit" WHERE "status" = 'queued' GROUP BY "clientId";

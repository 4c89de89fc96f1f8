-- AlterEnum
ALTER TYPE "EditStatus" ADD VALUE 'storing';

-- AlterTable
ALTER TABLE "Upload" ADD COLUMN     "storageKey" TEXT;

-- CreateTable
CREATE TABLE "MirrorTask" (
    "editId" UUID NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "deadlineAt" TIMESTAMP(3) NOT NULL,
    "nextAttemptAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),
    "outputsStored" INTEGER NOT NULL DEFAULT 0,
    "outputsFailed" INTEGER NOT NULL DEFAULT 0,
    "bytesStored" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "MirrorTask_pkey" PRIMARY KEY ("editId")
);

-- CreateIndex
CREATE INDEX "MirrorTask_finishedAt_nextAttemptAt_idx" ON "MirrorTask"("finishedAt", "nextAttemptAt");

-- AddForeignKey
ALTER TABLE "MirrorTask" ADD CONSTRAINT "MirrorTask_editId_fkey" FOREIGN KEY ("editId") REFERENCES "Edit"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateEnum
CREATE TYPE "CallbackStatus" AS ENUM ('pending', 'delivered', 'failed');

-- CreateTable
CREATE TABLE "CallbackDelivery" (
    "id" TEXT NOT NULL,
    "editId" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "status" "CallbackStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "series" INTEGER NOT NULL DEFAULT 1,
    "seriesAttempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "nextAttemptAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "CallbackDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CallbackAttempt" (
    "id" BIGSERIAL NOT NULL,
    "deliveryId" TEXT NOT NULL,
    "series" INTEGER NOT NULL,
    "attempt" INTEGER NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "durationMs" INTEGER NOT NULL,
    "statusCode" INTEGER,
    "error" TEXT,

    CONSTRAINT "CallbackAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "CallbackDelivery_status_nextAttemptAt_idx" ON "CallbackDelivery"("status", "nextAttemptAt");

-- CreateIndex
CREATE UNIQUE INDEX "CallbackDelivery_editId_type_key" ON "CallbackDelivery"("editId", "type");

-- CreateIndex
CREATE INDEX "CallbackAttempt_deliveryId_id_idx" ON "CallbackAttempt"("deliveryId", "id");

-- AddForeignKey
ALTER TABLE "CallbackDelivery" ADD CONSTRAINT "CallbackDelivery_editId_fkey" FOREIGN KEY ("editId") REFERENCES "Edit"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CallbackAttempt" ADD CONSTRAINT "CallbackAttempt_deliveryId_fkey" FOREIGN KEY ("deliveryId") REFERENCES "CallbackDelivery"("id") ON DELETE CASCADE ON UPDATE CASCADE;

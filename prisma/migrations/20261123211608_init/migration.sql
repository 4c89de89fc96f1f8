-- CreateEnum
CREATE TYPE "EditStatus" AS ENUM ('queued', 'submitting', 'submitted', 'processing', 'completed', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "SubmitOutcome" AS ENUM ('in_flight', 'accepted', 'rejected', 'not_sent', 'unknown');

-- CreateTable
CREATE TABLE "Edit" (
    "id" UUID NOT NULL,
    "status" "EditStatus" NOT NULL DEFAULT 'queued',
    "model" TEXT NOT NULL,
    "input" JSONB NOT NULL,
    "clientId" TEXT NOT NULL,
    "callbackUrl" TEXT,
    "metadata" JSONB,
    "upstreamJobId" TEXT,
    "upstreamRequestId" TEXT,
    "upstreamStatus" TEXT,
    "estimatedCompletionAt" TIMESTAMP(3),
    "estimatedCostMicroCents" INTEGER NOT NULL,
    "costMicroCents" INTEGER,
    "refundedMicroCents" INTEGER,
    "outputs" JSONB NOT NULL DEFAULT '[]',
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "submittedAt" TIMESTAMP(3),
    "completedAt" TIMESTAMP(3),
    "pollCount" INTEGER NOT NULL DEFAULT 0,
    "nextPollAt" TIMESTAMP(3),

    CONSTRAINT "Edit_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "IdempotencyKey" (
    "clientId" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "requestHash" TEXT NOT NULL,
    "editId" UUID NOT NULL,
    "responseStatus" INTEGER NOT NULL,
    "responseBody" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "IdempotencyKey_pkey" PRIMARY KEY ("clientId","key")
);

-- CreateTable
CREATE TABLE "EditTransition" (
    "id" BIGSERIAL NOT NULL,
    "editId" UUID NOT NULL,
    "fromStatus" "EditStatus",
    "toStatus" "EditStatus" NOT NULL,
    "cause" TEXT NOT NULL,
    "upstreamCode" TEXT,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "EditTransition_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SubmitAttempt" (
    "id" BIGSERIAL NOT NULL,
    "editId" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "outcome" "SubmitOutcome" NOT NULL DEFAULT 'in_flight',
    "httpStatus" INTEGER,
    "upstreamCode" TEXT,
    "message" TEXT,
    "upstreamJobId" TEXT,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "SubmitAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WebhookEvent" (
    "id" BIGSERIAL NOT NULL,
    "editId" UUID NOT NULL,
    "upstreamJobId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "rawBody" TEXT NOT NULL,
    "signedAt" TIMESTAMP(3) NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WebhookEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Edit_upstreamJobId_key" ON "Edit"("upstreamJobId");

-- CreateIndex
CREATE INDEX "Edit_createdAt_id_idx" ON "Edit"("createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "Edit_status_createdAt_idx" ON "Edit"("status", "createdAt" DESC);

-- CreateIndex
CREATE INDEX "Edit_status_updatedAt_idx" ON "Edit"("status", "updatedAt");

-- CreateIndex
CREATE INDEX "Edit_status_nextPollAt_idx" ON "Edit"("status", "nextPollAt");

-- CreateIndex
CREATE INDEX "IdempotencyKey_expiresAt_idx" ON "IdempotencyKey"("expiresAt");

-- CreateIndex
CREATE INDEX "EditTransition_editId_id_idx" ON "EditTransition"("editId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "SubmitAttempt_editId_attempt_key" ON "SubmitAttempt"("editId", "attempt");

-- CreateIndex
CREATE INDEX "WebhookEvent_editId_idx" ON "WebhookEvent"("editId");

-- CreateIndex
CREATE UNIQUE INDEX "WebhookEvent_upstreamJobId_status_key" ON "WebhookEvent"("upstreamJobId", "status");

-- AddForeignKey
ALTER TABLE "IdempotencyKey" ADD CONSTRAINT "IdempotencyKey_editId_fkey" FOREIGN KEY ("editId") REFERENCES "Edit"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "EditTransition" ADD CONSTRAINT "EditTransition_editId_fkey" FOREIGN KEY ("editId") REFERENCES "Edit"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SubmitAttempt" ADD CONSTRAINT "SubmitAttempt_editId_fkey" FOREIGN KEY ("editId") REFERENCES "Edit"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WebhookEvent" ADD CONSTRAINT "WebhookEvent_editId_fkey" FOREIGN KEY ("editId") REFERENCES "Edit"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- DropIndex
DROP INDEX "WebhookEvent_editId_idx";

-- DropIndex
DROP INDEX "WebhookEvent_upstreamJobId_status_key";

-- AlterTable
ALTER TABLE "SubmitAttempt" ADD COLUMN     "tokenizedWebhookUrl" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "WebhookEvent_upstreamJobId_idx" ON "WebhookEvent"("upstreamJobId");

-- CreateIndex
CREATE UNIQUE INDEX "WebhookEvent_editId_upstreamJobId_status_key" ON "WebhookEvent"("editId", "upstreamJobId", "status");

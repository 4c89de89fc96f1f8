-- AlterTable
ALTER TABLE "CallbackDelivery" ADD COLUMN     "redeliveredAt" TIMESTAMP(3);

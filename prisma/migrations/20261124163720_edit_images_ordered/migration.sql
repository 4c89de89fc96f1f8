-- AlterTable
ALTER TABLE "Edit" ADD COLUMN     "imagesOrdered" INTEGER;

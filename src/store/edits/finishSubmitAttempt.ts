import type { SubmitOutcome } from '../../generated/prisma/enums.js';
import type { Db } from '../../infra/prisma.js';

/** What became of a submit that PixelByte did not take (an accepted one is recordSubmitAccepted.ts's). */
export interface SubmitFinish {
  outcome: Exclude<SubmitOutcome, 'in_flight' | 'accepted'>;
  httpStatus?: number;
  upstreamCode?: string;
  message?: string;
  upstreamJobId?: string;
}

export async function finishSubmitAttempt(db: Db, id: bigint, result: SubmitFinish): Promise<void> {
  await db.submitAttempt.update({ where: { id }, data: { ...result, finishedAt: new Date() } });
}

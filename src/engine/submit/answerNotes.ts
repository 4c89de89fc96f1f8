import { z } from 'zod';
import { submitResponse } from '../../upstream/schemas.js';

/**
 * PixelByte's acceptance of one submit attempt, kept outside Postgres while Postgres cannot take it. Once
 * PixelByte has answered with a job, the job is a fact: forgetting it means the fence sees an unknown outcome
 * and, after its grace, pays for the edit again.
 */
export const acceptedAnswer = z.object({
  /** The SubmitAttempt row the answer belongs to (a bigint, as text). */
  attemptId: z.string().regex(/^\d+$/),
  answeredAt: z.iso.datetime(),
  response: submitResponse,
});
export type AcceptedAnswer = z.infer<typeof acceptedAnswer>;

/** Where accepted answers wait for the database: outside it, and outliving the worker process that heard them. */
export interface AnswerNotes {
  remember(editId: string, answer: AcceptedAnswer): Promise<void>;
  recall(editId: string): Promise<AcceptedAnswer | null>;
  forget(editId: string): Promise<void>;
}

import type { Queue } from 'bullmq';
import type { AcceptedAnswer, AnswerNotes } from '../engine/submit/answerNotes.js';
import { acceptedAnswer } from '../engine/submit/answerNotes.js';
import { jsonOrUndefined } from '../shared/json.js';

// Longer than any outage we would ride out: the sweeper keeps re-enqueueing the edit until the note is recorded.
const NOTE_TTL_SECONDS = 30 * 24 * 3_600;

/**
 * Notes beside the submit queue's jobs, in the same Redis (`<prefix>:<queue>:answer:<editId>`): the next run of
 * the edit's job reads its note before the fence decides anything. A note that fails its schema is ignored.
 */
export function answerNotesBeside(queue: Queue): AnswerNotes {
  const keyOf = (editId: string) => queue.toKey(`answer:${editId}`);
  return {
    async remember(editId: string, answer: AcceptedAnswer) {
      const redis = await queue.client;
      await redis.set(keyOf(editId), JSON.stringify(answer), { EX: NOTE_TTL_SECONDS });
    },
    async recall(editId: string) {
      const redis = await queue.client;
      const text = await redis.get(keyOf(editId));
      if (text === null) return null;
      const parsed = acceptedAnswer.safeParse(jsonOrUndefined(text));
      return parsed.success ? parsed.data : null;
    },
    async forget(editId: string) {
      const redis = await queue.client;
      await redis.del(keyOf(editId));
    },
  };
}

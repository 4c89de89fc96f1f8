import type { Logger } from 'pino';
import type { MoveListener } from '../store/edits/repository.js';

/**
 * One info line per status change, registered on the repository (compose.ts): every move passes through it,
 * whichever process, route or processor made it. It names the edit, its PixelByte job once known, and why.
 */
export function logEditMoves(logger: Logger): MoveListener {
  return (edit, move) => {
    logger.info(
      {
        editId: edit.id,
        ...(edit.upstreamJobId ? { jobId: edit.upstreamJobId } : {}),
        model: edit.model,
        from: move.from,
        to: move.to,
        cause: move.cause,
        ...(move.upstreamCode ? { upstreamCode: move.upstreamCode } : {}),
      },
      'edit status changed',
    );
  };
}

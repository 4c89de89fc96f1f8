import type { Logger } from 'pino';

/**
 * Ties the process's end to `stop`, the ordered shutdown (HTTP, then workers, then connections):
 * - SIGTERM or SIGINT runs it once and exits 0; a second signal exits at once.
 * - An uncaught exception or unhandled rejection leaves the process in a state nobody can vouch for, so it
 *   is logged and the process exits 1 through the same ordered stop (in-flight work is then recovered by
 *   the fence, the sweeper and BullMQ's stalled-job check, exactly as after a crash).
 * Either way, a stop that takes longer than `timeoutMs` exits 1 so the orchestrator's kill does not find us half-closed.
 */
export function exitOnSignal(stop: () => Promise<void>, timeoutMs: number, logger: Logger): void {
  let stopping = false;
  const shutDown = (exitCode: 0 | 1) => {
    stopping = true;
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown deadline passed; exiting with work still in flight (it will be recovered)');
      process.exit(1);
    }, timeoutMs);
    deadline.unref();
    stop().then(
      () => {
        logger.info('shut down cleanly');
        process.exit(exitCode);
      },
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal, timeoutMs }, 'shutting down');
    shutDown(0);
  };
  const onFatal = (kind: string) => (err: unknown) => {
    logger.fatal({ err }, `${kind}: shutting down`);
    if (!stopping) shutDown(1);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', onFatal('uncaught exception'));
  process.on('unhandledRejection', onFatal('unhandled promise rejection'));
}

import type { Logger } from 'pino';
import { AppError, editNotFound } from '../../errors.js';
import { isUuid } from '../../shared/ids.js';
import type { CallbackRepository } from '../../store/callbacks/repository.js';
import type { EditRepository } from '../../store/edits/repository.js';
import { type CallbackUrlPolicy, checkCallbackUrl, type Resolve } from './urlSafety.js';

export interface CallbackServiceDeps {
  deliveries: CallbackRepository;
  edits: Pick<EditRepository, 'findOwned'>;
  /** Callbacks are on when a signing secret is configured. */
  enabled: boolean;
  policy: CallbackUrlPolicy;
  /** A redeliver of an edit's callback within this of the last accepted one is refused (CALLBACK_REDELIVER_COOLDOWN_MS). */
  redeliverCooldownMs: number;
  /** Makes sure the delivery has a live queue job. May fail (Redis down): the sweeper enqueues it later. */
  requeue(deliveryId: string): Promise<unknown>;
  logger: Logger;
  resolve?: Resolve;
}

const callbacksDisabled = () =>
  new AppError('CALLBACKS_DISABLED', 'This server sends no callbacks (no CALLBACK_SIGNING_SECRET is configured); poll GET /v1/edits/{id} instead');

const notRedeliverable = (message: string, details?: unknown) => new AppError('CALLBACK_NOT_REDELIVERABLE', message, details);

/** Every redeliver is a new series of attempts at the client's receiver, so a client that loops on it is slowed here. */
const redeliverTooSoon = (retryAfterMs: number) => {
  const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new AppError(
    'REDELIVER_TOO_SOON',
    `This callback was redelivered moments ago; redeliver it again in ${retryAfterSeconds} s`,
    { retryAfterSeconds },
    { 'retry-after': String(retryAfterSeconds) },
  );
};

/** The API side of callbacks: vetting a callbackUrl before it is stored, and redelivery on request. */
export class CallbackService {
  constructor(private readonly deps: CallbackServiceDeps) {}

  /** Refuses a callbackUrl pixelrelay must not call. A name that does not resolve now is let through: every attempt checks again. */
  async vetUrl(url: string): Promise<void> {
    if (!this.deps.enabled) throw callbacksDisabled();
    const check = await checkCallbackUrl(url, this.deps.policy, this.deps.resolve);
    if (check.kind === 'refused') {
      throw new AppError('INVALID_CALLBACK_URL', `callbackUrl ${check.reason}`, [{ path: 'callbackUrl', message: check.reason }]);
    }
  }

  /**
   * Sends a delivered or failed callback again: a new series of attempts on the full schedule, due now,
   * for the same event (same webhook-id, type and timestamp; `data` is the edit as it is when sent). At most one
   * per edit within the cooldown; a refused one changes nothing.
   */
  async redeliver(editId: string, clientId: string): Promise<void> {
    const edit = isUuid(editId) ? await this.deps.edits.findOwned(editId, clientId) : null;
    if (!edit) throw editNotFound(editId);
    if (!this.deps.enabled) throw callbacksDisabled();
    const delivery = await this.deps.deliveries.findByEdit(editId);
    if (!delivery) {
      throw notRedeliverable(edit.callbackUrl ? `The edit is ${edit.status}; its callback is sent when it finishes` : 'The edit has no callbackUrl', {
        status: 'none',
      });
    }
    const restart = await this.deps.deliveries.restart(delivery.id, this.deps.redeliverCooldownMs);
    if (restart.kind === 'too-soon') throw redeliverTooSoon(restart.retryAfterMs);
    if (restart.kind === 'pending') {
      throw notRedeliverable('The callback is still being delivered; it is retried on its own schedule', { status: 'pending' });
    }
    try {
      await this.deps.requeue(delivery.id);
    } catch (err) {
      this.deps.logger.warn({ err, editId, deliveryId: delivery.id }, 'could not enqueue the redelivery; the callback sweeper will');
    }
  }
}

import { type ClientRequest, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { signWebhook } from './signature.js';
import type { TimerSet } from './timers.js';
import type { RecordedDelivery, WebhookMode } from './types.js';

export interface WebhookDelivery {
  jobId: string;
  url: string;
  body: object;
  mode: WebhookMode;
}

export interface WebhookSenderDeps {
  secret: string;
  retryDelaysMs: readonly number[];
  timeoutMs: number;
  /** How long a 'reorder' webhook waits for another job's webhook before it goes out anyway. */
  holdTimeoutMs: number;
  timers: TimerSet;
  /** Current `webhookDelayMs` switch, read at send time. */
  delayMs(): number;
  record(delivery: RecordedDelivery): void;
  random?: () => number;
}

type PostResult = { status: number } | { error: string };

interface Held {
  delivery: WebhookDelivery;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Sends PixelByte's terminal webhooks: signed over the exact bytes sent, retried after each delay of the
 * schedule on non-2xx, network error or timeout, then given up. Each attempt is recorded.
 */
export class WebhookSender {
  private held: Held[] = [];
  private readonly inFlight = new Set<ClientRequest>();
  /** Bumped by reset(): work started before it records nothing and schedules nothing. */
  private epoch = 0;
  private stopped = false;

  constructor(private readonly deps: WebhookSenderDeps) {}

  /** Starts a job's webhook; resolves once the first attempt (and its duplicates) has finished. Never rejects. */
  dispatch(delivery: WebhookDelivery): Promise<void> {
    if (delivery.mode === 'drop' || this.stopped) return Promise.resolve();
    if (delivery.mode === 'reorder' && this.held.length === 0) {
      const held: Held = { delivery, timer: this.deps.timers.after(this.deps.holdTimeoutMs, () => this.release(held)) };
      this.held.push(held);
      return Promise.resolve();
    }
    // Whatever is held goes out right after this one, so the two arrive in swapped order.
    const overtaken = this.held.splice(0);
    for (const held of overtaken) this.deps.timers.cancel(held.timer);
    const epoch = this.epoch;
    return this.start(delivery, epoch).finally(() => {
      if (epoch !== this.epoch) return;
      for (const held of overtaken) void this.start(held.delivery, epoch);
    });
  }

  /** Forgets held webhooks and aborts requests in flight (timers are cleared by the owner of the TimerSet). */
  reset(): void {
    this.epoch += 1;
    this.held = [];
    for (const request of this.inFlight) request.destroy();
    this.inFlight.clear();
  }

  /** reset() for good: nothing is sent after the simulator closes. */
  stop(): void {
    this.stopped = true;
    this.reset();
  }

  private release(held: Held): void {
    const index = this.held.indexOf(held);
    if (index === -1) return;
    this.held.splice(index, 1);
    void this.start(held.delivery, this.epoch);
  }

  private async start(delivery: WebhookDelivery, epoch: number): Promise<void> {
    const delay = this.deps.delayMs();
    if (delay > 0) await this.deps.timers.sleep(delay);
    if (epoch !== this.epoch) return;
    await this.attempt({ ...delivery, rawBody: JSON.stringify(delivery.body) }, 1, epoch);
  }

  private async attempt(delivery: WebhookDelivery & { rawBody: string }, attempt: number, epoch: number): Promise<void> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = signWebhook(this.deps.secret, timestamp, delivery.rawBody);
    const result = await this.post(delivery.url, delivery.rawBody, timestamp, signature);
    if (epoch !== this.epoch) return;
    this.recordAttempt(delivery, attempt, timestamp, signature, result, false);

    if ('status' in result && result.status >= 200 && result.status < 300) {
      if (delivery.mode !== 'duplicate') return;
      // The very same signed request again, as when PixelByte retries a delivery whose answer it lost.
      const copies = 1 + ((this.deps.random ?? Math.random)() < 0.5 ? 1 : 0);
      for (let copy = 1; copy <= copies; copy++) {
        const again = await this.post(delivery.url, delivery.rawBody, timestamp, signature);
        if (epoch !== this.epoch) return;
        this.recordAttempt(delivery, attempt + copy, timestamp, signature, again, true);
      }
      return;
    }
    const retryDelay = this.deps.retryDelaysMs[attempt - 1];
    if (retryDelay === undefined) return; // schedule exhausted: given up, as PixelByte does
    this.deps.timers.after(retryDelay, () => void this.attempt(delivery, attempt + 1, epoch));
  }

  private recordAttempt(
    delivery: WebhookDelivery & { rawBody: string },
    attempt: number,
    timestamp: string,
    signature: string,
    result: PostResult,
    duplicate: boolean,
  ): void {
    this.deps.record({
      jobId: delivery.jobId,
      url: delivery.url,
      attempt,
      ...result,
      body: delivery.body,
      rawBody: delivery.rawBody,
      timestamp,
      signature,
      duplicate,
      at: new Date(),
    });
  }

  private post(url: string, rawBody: string, timestamp: string, signature: string): Promise<PostResult> {
    return new Promise((resolve) => {
      let settled = false;
      const target = new URL(url);
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      // agent:false — one connection per attempt, so no keep-alive socket outlives the simulator.
      const request = send(target, {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(rawBody),
          'user-agent': 'PixelByte-Webhooks/simulator',
          'x-pixelbyte-timestamp': timestamp,
          'x-pixelbyte-signature': signature,
        },
      });
      const finish = (result: PostResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        this.inFlight.delete(request);
        resolve(result);
      };
      const deadline = setTimeout(() => {
        finish({ error: `timed out after ${this.deps.timeoutMs} ms` });
        request.destroy();
      }, this.deps.timeoutMs);
      request.on('response', (response) => {
        response.resume();
        finish({ status: response.statusCode ?? 0 });
      });
      request.on('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.message }));
      this.inFlight.add(request);
      request.end(rawBody);
    });
  }
}

import type { CallbackService } from '../engine/callbacks/callbackService.js';
import type { ClientService } from '../engine/clients/clientService.js';
import type { EditService } from '../engine/edits.js';
import type { WebhookIntakeDeps } from '../engine/intake/applyWebhook.js';
import type { UploadService } from '../engine/uploads/uploadService.js';
import type { EditWakeups } from '../engine/watch/wakeups.js';
import type { RelayMetrics } from '../metrics/relayMetrics.js';
import type { EditQueues } from '../queue/queues.js';
import type { ClientQueueCounts, UsageReport } from '../store/clients/usage.js';

/** What the HTTP API's routes call: declared by the API, built by the composition root (compose.ts). */
export interface ApiServices {
  edits: EditService;
  uploads: UploadService;
  /** Wake-ups of status changes from every process: what `Prefer: wait` and the event streams wait on. */
  watch: EditWakeups;
  callbacks: CallbackService;
  webhookIntake: WebhookIntakeDeps;
  clients: ClientService;
  usageOf(clientId: string, range: { from: string; to: string }): Promise<UsageReport>;
  /** A client's queued and in-flight edits now (GET /admin/clients/{id}). */
  queueOf(clientId: string): Promise<ClientQueueCounts>;
  /** The API role's queues, shown by the queue dashboard. */
  queues: EditQueues;
  /** Served at GET /metrics. */
  metrics: RelayMetrics;
}

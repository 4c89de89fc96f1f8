import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ApiServices } from './api/services.js';
import type { Config } from './config.js';
import { CallbackService } from './engine/callbacks/callbackService.js';
import { RedisCallbackSlots } from './engine/callbacks/slots.js';
import type { CallbackUrlPolicy } from './engine/callbacks/urlSafety.js';
import { ClientService } from './engine/clients/clientService.js';
import type { EditResource } from './engine/editResource.js';
import { EditService } from './engine/edits.js';
import { OutputCopier } from './engine/mirror/copyOutput.js';
import { OutputLinks } from './engine/mirror/outputLinks.js';
import { logEditMoves } from './engine/moveLog.js';
import { EditTransitions } from './engine/transitions.js';
import { UploadRenewer } from './engine/uploads/renewUploads.js';
import { UploadService } from './engine/uploads/uploadService.js';
import { EditWakeups, publishEditMoves } from './engine/watch/wakeups.js';
import { createWorkerEngine, type WorkerEngine } from './engine/workerEngine.js';
import type { MetricsDatabase } from './infra/metricsDatabase.js';
import type { Db } from './infra/prisma.js';
import { withTimeout } from './infra/timeout.js';
import { RelayMetrics } from './metrics/relayMetrics.js';
import { answerNotesBeside } from './queue/answerNotes.js';
import {
  batchedSubmitEnqueuer,
  type EditQueues,
  enqueueCallbacksInBackground,
  enqueueMirrorsInBackground,
  ensureCallbackJob,
  ensureMirrorJob,
  ensureSubmitJob,
} from './queue/queues.js';
import type { Bucket, BucketSettings } from './storage/bucket.js';
import { CallbackRepository } from './store/callbacks/repository.js';
import { ClientRepository } from './store/clients/repository.js';
import { clientQueueOf, usageOf } from './store/clients/usageOf.js';
import { reserveBudget } from './store/edits/onCreate/reserveBudget.js';
import { writeMirrorOutbox } from './store/edits/onStoringMove/writeMirrorOutbox.js';
import { finishMirrorTask } from './store/edits/onTerminalMove/finishMirrorTask.js';
import { settleBudget } from './store/edits/onTerminalMove/settleBudget.js';
import { writeCallbackOutbox } from './store/edits/onTerminalMove/writeCallbackOutbox.js';
import { EditRepository, type MoveListener } from './store/edits/repository.js';
import { MirrorTaskRepository } from './store/mirrors/repository.js';
import { UploadRepository } from './store/uploads/repository.js';
import type { PixelByteClient } from './upstream/client.js';
import { webhookUrlKey } from './upstream/webhookUrl.js';

/** The longest a request or a status change waits for Redis: BullMQ would wait for it to come back. */
const ENQUEUE_TIMEOUT_MS = 1_000;

export interface Infra {
  db: Db;
  logger: Logger;
  /** PixelByte's API (its connection pool is the caller's to close). */
  pixelbyte: PixelByteClient;
  /** The queues of each role this process plays, each on that role's own Redis connection (see infra/redis.ts). */
  queues: { api?: EditQueues; worker?: EditQueues };
  /** The API role's: the connection /metrics reads Postgres on, apart from `db` (infra/metricsDatabase.ts). */
  metricsDb?: MetricsDatabase;
  /** The worker role's Redis connection, which its queues are on; the callback slots are counted there too. */
  workerRedis?: Redis;
  /** The connection this process publishes its status changes on (its worker role's, else its API's). */
  wakeupPublisher?: Redis;
  /** The API role's one subscriber connection, which hears every process's status changes (start.ts closes it). */
  wakeupSubscriber?: Redis;
  /** The storage bucket (STORAGE_S3_BUCKET), when one is configured: outputs are mirrored into it (start.ts closes it). */
  bucket?: Bucket;
}

export interface Services {
  api?: ApiServices;
  worker?: WorkerEngine;
  /** Closes what the services opened themselves (the mirror's download connections); after the workers stopped. */
  close(): Promise<void>;
}

/** The STORAGE_S3_* settings, or undefined when no bucket is configured (no mirroring). */
export function bucketSettingsOf(config: Config): BucketSettings | undefined {
  if (!config.STORAGE_S3_BUCKET) return undefined;
  const { STORAGE_S3_ACCESS_KEY_ID: accessKeyId, STORAGE_S3_SECRET_ACCESS_KEY: secretAccessKey } = config;
  return {
    bucket: config.STORAGE_S3_BUCKET,
    endpoint: config.STORAGE_S3_ENDPOINT,
    publicEndpoint: config.STORAGE_S3_PUBLIC_ENDPOINT,
    region: config.STORAGE_S3_REGION,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    forcePathStyle: config.STORAGE_S3_FORCE_PATH_STYLE,
    prefix: config.STORAGE_S3_PREFIX,
    urlTtlSeconds: config.STORAGE_URL_TTL_SECONDS,
  };
}

export type Repositories = ReturnType<typeof createRepositories>;

/** MIRROR_DEADLINE_MS's default, for repositories made without a configuration (tests writing rows by hand). */
const DEFAULT_MIRROR_DEADLINE_MS = 15 * 60_000;

/**
 * The repositories, with the other features' parts in an edit's statements registered: the budget reservation
 * when it is stored; on a move into `storing`, the mirror task written; on every terminal move, the budget settled,
 * the callback outbox row written and a mirror task finished. With a logger, every status change is logged
 * (edits/moveLog.ts); tests that write rows by hand pass none. With a publisher, every status change is also
 * published for the API processes' waiters (engine/watch/wakeups.ts).
 */
export function createRepositories(db: Db, logger?: Logger, publish?: { redis: Redis; queuePrefix: string }, mirrorDeadlineMs = DEFAULT_MIRROR_DEADLINE_MS) {
  const listeners: MoveListener[] = logger ? [logEditMoves(logger), ...(publish ? [publishEditMoves(publish.redis, publish.queuePrefix, logger)] : [])] : [];
  return {
    edits: new EditRepository(db, {
      onCreate: reserveBudget(db),
      ...(listeners.length > 0 ? { onMoved: allOf(listeners) } : {}),
      onStoringMove: [writeMirrorOutbox(mirrorDeadlineMs)],
      onTerminalMove: [settleBudget, writeCallbackOutbox, finishMirrorTask],
    }),
    mirrors: new MirrorTaskRepository(db),
    deliveries: new CallbackRepository(db),
    clients: new ClientRepository(db),
    uploads: new UploadRepository(db),
  };
}

/** Each listener is told in turn; one that throws (a listener must not) does not keep the others from hearing. */
function allOf(listeners: MoveListener[]): MoveListener {
  if (listeners.length === 1) return listeners[0]!;
  return (edit, move) => {
    for (const listener of listeners) {
      try {
        listener(edit, move);
      } catch {
        // The move is committed: a listener's failure is its own.
      }
    }
  };
}

/**
 * The composition root: the whole object graph, built once per process for the roles it plays (API, workers
 * or both). Nothing else constructs repositories or services; entry points and tests come through here.
 */
export function createServices(config: Config, infra: Infra): Services {
  const shared: Shared = {
    config,
    repositories: createRepositories(
      infra.db,
      infra.logger,
      infra.wakeupPublisher ? { redis: infra.wakeupPublisher, queuePrefix: config.QUEUE_PREFIX } : undefined,
      config.MIRROR_DEADLINE_MS,
    ),
    pixelbyte: infra.pixelbyte,
    callbackPolicy: { allowHttp: config.ALLOW_HTTP_CALLBACKS, allowPrivate: config.CALLBACK_ALLOW_PRIVATE },
    bucket: infra.bucket,
    links: infra.bucket && new OutputLinks(infra.bucket),
  };
  shared.renewer =
    infra.bucket &&
    new UploadRenewer({
      bucket: infra.bucket,
      pixelbyte: infra.pixelbyte,
      uploads: shared.repositories.uploads,
      lifeMs: config.PIXELBYTE_UPLOAD_LIFE_MS,
      logger: infra.logger,
    });
  const copier =
    infra.queues.worker && infra.bucket
      ? new OutputCopier({
          bucket: infra.bucket,
          allowPrivate: config.OUTPUT_FETCH_ALLOW_PRIVATE,
          maxBytes: config.OUTPUT_MAX_BYTES,
          timeoutMs: config.OUTPUT_FETCH_TIMEOUT_MS,
        })
      : undefined;
  return {
    api: infra.queues.api && apiServices(shared, infra.queues.api, infra),
    worker: infra.queues.worker && workerEngine(shared, infra.queues.worker, infra.workerRedis, infra.logger.child({ component: 'worker' }), copier),
    close: async () => {
      await copier?.close();
    },
  };
}

interface Shared {
  config: Config;
  repositories: Repositories;
  pixelbyte: PixelByteClient;
  callbackPolicy: CallbackUrlPolicy;
  bucket?: Bucket;
  /** Signs each stored output's `mirror.url` on every read (with a bucket). */
  links?: OutputLinks;
  /** Keeps a copy of each upload in the bucket, and gives it to PixelByte again once its file there is gone (with a bucket). */
  renewer?: UploadRenewer;
}

const uploadsOf = (shared: Shared) => ({
  uploads: shared.repositories.uploads,
  expiryMarginMs: shared.config.UPLOAD_EXPIRY_MARGIN_MS,
  renewer: shared.renewer,
});

/**
 * Every status move a role makes relays its outboxes (callbacks, mirrors) on that role's own queues. With a bucket,
 * a completed upstream result moves the edit to `storing`, and the mirror completes it.
 */
function transitionsOn(shared: Shared, queues: EditQueues, logger: Logger): EditTransitions {
  return new EditTransitions(
    shared.repositories.edits,
    {
      callbacks: enqueueCallbacksInBackground(queues.callback, logger, ENQUEUE_TIMEOUT_MS),
      mirrors: enqueueMirrorsInBackground(queues.mirror, logger, ENQUEUE_TIMEOUT_MS),
    },
    { mirroring: shared.bucket !== undefined },
  );
}

const signerOf = (links: OutputLinks | undefined) => links && (<T extends EditResource>(resource: T) => links.sign(resource));

function apiServices(shared: Shared, queues: EditQueues, infra: Infra): ApiServices {
  const { config, pixelbyte } = shared;
  const { db, logger, metricsDb } = infra;
  if (!metricsDb) throw new Error('the API role needs infra.metricsDb');
  const { edits, deliveries, clients } = shared.repositories;
  const transitions = transitionsOn(shared, queues, logger);
  const metrics = new RelayMetrics({ metricsDb, queues, logger });
  const enqueueSubmitBatched = batchedSubmitEnqueuer(queues.submit);
  const callbacks = new CallbackService({
    deliveries,
    edits,
    enabled: config.CALLBACK_SIGNING_SECRET !== undefined,
    policy: shared.callbackPolicy,
    redeliverCooldownMs: config.CALLBACK_REDELIVER_COOLDOWN_MS,
    requeue: (id) => withTimeout(ensureCallbackJob(queues.callback, id), ENQUEUE_TIMEOUT_MS, 'enqueue'),
    logger,
  });
  const uploads = new UploadService({
    uploads: shared.repositories.uploads,
    pixelbyte,
    logger,
    lifeMs: config.PIXELBYTE_UPLOAD_LIFE_MS,
    observe: (event) => metrics.countUpload(event),
    renewer: shared.renewer,
  });
  const editService = new EditService({
    edits,
    transitions,
    // An accepted edit is durable before it is enqueued: it must not wait for Redis with BullMQ.
    enqueueSubmit: (id) => withTimeout(enqueueSubmitBatched(id), ENQUEUE_TIMEOUT_MS, 'enqueue'),
    dequeueSubmit: async (id) => void (await queues.submit.remove(id)),
    pixelbyte,
    idempotencyTtlHours: config.IDEMPOTENCY_TTL_HOURS,
    maxQueuedEdits: config.MAX_QUEUED_EDITS ?? null,
    logger,
    callbacks: deliveries,
    vetCallbackUrl: (url) => callbacks.vetUrl(url),
    uploads: uploadsOf(shared),
    inlineImages: { uploads, maxBytes: config.INLINE_IMAGE_MAX_BYTES },
    signOutputs: signerOf(shared.links),
  });
  const watch = new EditWakeups(
    infra.wakeupSubscriber,
    config.QUEUE_PREFIX,
    { perClient: config.WATCH_MAX_PER_CLIENT, perProcess: config.WATCH_MAX_PER_PROCESS, rereadMs: config.WATCH_REREAD_MS },
    logger,
    (ids) => edits.historyCounts(ids),
  );
  watch.start();
  return {
    edits: editService,
    uploads,
    watch,
    callbacks,
    webhookIntake: { edits, transitions, pixelbyte, logger },
    clients: new ClientService({ clients, logger }),
    usageOf: (clientId, range) => usageOf(db, clientId, range),
    queueOf: (clientId) => clientQueueOf(db, clientId),
    queues,
    metrics,
  };
}

function workerEngine(shared: Shared, queues: EditQueues, redis: Redis | undefined, logger: Logger, copier: OutputCopier | undefined): WorkerEngine {
  const { config, pixelbyte } = shared;
  const { edits, deliveries, mirrors } = shared.repositories;
  const transitions = transitionsOn(shared, queues, logger);
  // A row waiting one sweep interval without a change is checked for a live queue entry.
  const staleAfterMs = config.SWEEP_INTERVAL_MS;
  return createWorkerEngine({
    logger,
    submit: {
      edits,
      transitions,
      pixelbyte,
      logger,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      webhookUrlKey: webhookUrlKey(config),
      maxAttempts: config.SUBMIT_MAX_ATTEMPTS,
      backoffBaseMs: config.SUBMIT_BACKOFF_BASE_MS,
      backoffMaxMs: config.SUBMIT_BACKOFF_MAX_MS,
      fenceGraceMs: config.SUBMIT_FENCE_GRACE_MS,
      keyExclusive: config.PIXELBYTE_KEY_EXCLUSIVE,
      maxInFlight: config.UPSTREAM_MAX_CONCURRENCY,
      reconcileGraceMs: config.RECONCILE_GRACE_MS,
      answers: answerNotesBeside(queues.submit),
      answerRecordRetryMs: config.SUBMIT_ANSWER_RECORD_RETRY_MS,
      uploads: uploadsOf(shared),
    },
    reconcile: { edits, transitions, pixelbyte, logger, maxIntervalMs: config.RECONCILE_MAX_INTERVAL_MS },
    deadlines: { edits, transitions, pixelbyte, logger },
    sweepEdits: { edits, ensureSubmitJob: (id) => ensureSubmitJob(queues.submit, id), logger, staleAfterMs },
    callbacks: config.CALLBACK_SIGNING_SECRET
      ? {
          deliver: {
            deliveries,
            slots: new RedisCallbackSlots(requireRedis(redis), config.QUEUE_PREFIX, {
              perClient: config.CALLBACK_CONCURRENCY_PER_CLIENT,
              perOrigin: config.CALLBACK_CONCURRENCY_PER_ORIGIN,
            }),
            logger,
            signingSecret: config.CALLBACK_SIGNING_SECRET,
            timeoutMs: config.CALLBACK_TIMEOUT_MS,
            retryScale: config.CALLBACK_RETRY_SCALE,
            policy: shared.callbackPolicy,
            signOutputs: signerOf(shared.links),
          },
          sweep: { deliveries, ensureCallbackJob: (id) => ensureCallbackJob(queues.callback, id), logger, staleAfterMs },
        }
      : undefined,
    // Runs without a bucket too: an edit a deployment with one left `storing` is completed, never left waiting.
    mirror: {
      run: {
        edits,
        tasks: mirrors,
        transitions,
        copier,
        logger,
        deadlineMs: config.MIRROR_DEADLINE_MS,
        backoffBaseMs: config.MIRROR_BACKOFF_BASE_MS,
        backoffMaxMs: config.MIRROR_BACKOFF_MAX_MS,
      },
      sweep: { tasks: mirrors, ensureMirrorJob: (id) => ensureMirrorJob(queues.mirror, id), logger, staleAfterMs },
    },
    expireIdempotencyKeys: () => edits.deleteExpiredIdempotencyKeys(),
  });
}

function requireRedis(redis: Redis | undefined): Redis {
  if (!redis) throw new Error('the workers need their Redis connection (Infra.workerRedis) for the callback slots');
  return redis;
}

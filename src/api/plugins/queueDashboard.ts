import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { adminAuth } from './adminAuth.js';

export interface QueueDashboardOptions {
  /** ADMIN_TOKEN: as a bearer token, or as the password of HTTP Basic so that a browser can open the page. */
  adminToken: string;
  queues: Queue[];
}

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * bull-board at /admin/queues, in a scope of its own behind the admin token. Read-only: the edit and delivery
 * rows in Postgres are the truth and the sweepers keep the queues in step with them, so an operator's clean,
 * retry or removal would be undone or, worse, race them. Its routes are bull-board's, not our API: none
 * appears in the OpenAPI document (every route here is hidden) and the route-schema check leaves them out.
 */
export async function queueDashboard(app: FastifyInstance, opts: QueueDashboardOptions): Promise<void> {
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, hide: true };
  });
  await app.register(adminAuth, { token: opts.adminToken, basic: true });

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: opts.queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: true })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'pixelrelay queues' } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
}

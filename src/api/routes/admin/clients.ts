import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ClientService } from '../../../engine/clients/clientService.js';
import { apiKeyView, clientDetail, clientView, createClientBody, updateClientBody } from '../../../engine/schemas/clients.js';
import { errorResponses } from '../../../errors.js';
import { type ClientQueueCounts, clientQueue } from '../../../store/clients/usage.js';
import { adminAuth } from '../../plugins/adminAuth.js';

/** Any string: an id that is not a UUID names no client (404), not a malformed request. */
const clientIdParams = z.object({ id: z.string() });
const keyIdParams = z.object({ keyId: z.string() });
const noQuery = z.strictObject({});

const shownOnce = z.string().describe('The key, shown this once: only its hash is stored');

const createdClient = clientView
  .pick({
    id: true,
    name: true,
    dailyBudgetMicroCents: true,
    rateLimitPerMinute: true,
    weight: true,
    maxConcurrency: true,
    maxQueued: true,
    createdAt: true,
  })
  .extend({
    apiKey: shownOnce,
  });

const createdKey = z.object({ id: z.string(), prefix: z.string(), apiKey: shownOnce });

const clientList = z.object({ clients: z.array(clientView) });

const clientWithQueue = clientDetail.extend({ queue: clientQueue.describe('Its edits waiting for an upstream slot and holding one, now') });

export interface AdminRoutesOptions {
  adminToken: string;
  clients: ClientService;
  queueOf(clientId: string): Promise<ClientQueueCounts>;
}

/** The admin API: clients, their keys and budgets. Registered only when ADMIN_TOKEN is set, and behind it. */
export const adminRoutes: FastifyPluginAsyncZod<AdminRoutesOptions> = async (app, { adminToken, clients, queueOf }) => {
  await app.register(adminAuth, { token: adminToken });

  // 201 with the key, shown this once: only its hash is stored.
  app.post(
    '/clients',
    {
      schema: {
        operationId: 'createClient',
        summary: 'Create a client',
        tags: ['admin'],
        'x-error-codes': ['INVALID_INPUT', 'DATABASE_UNAVAILABLE'],
        'x-returns': 'The client',
        body: createClientBody,
        response: { 201: createdClient, ...errorResponses },
      },
    },
    async (request, reply) => reply.status(201).send(await clients.create(request.body)),
  );

  app.get(
    '/clients',
    {
      schema: {
        operationId: 'listClients',
        summary: 'List clients',
        tags: ['admin'],
        'x-error-codes': ['DATABASE_UNAVAILABLE'],
        'x-returns': 'Every client',
        querystring: noQuery,
        response: { 200: clientList, ...errorResponses },
      },
    },
    async () => ({ clients: await clients.list() }),
  );

  app.get(
    '/clients/:id',
    {
      schema: {
        operationId: 'getClient',
        summary: 'Read a client',
        tags: ['admin'],
        'x-error-codes': ['CLIENT_NOT_FOUND', 'DATABASE_UNAVAILABLE'],
        'x-returns': 'The client, with today’s spend and its queued and in-flight edits',
        params: clientIdParams,
        querystring: noQuery,
        response: { 200: clientWithQueue, ...errorResponses },
      },
    },
    async (request) => {
      const client = await clients.get(request.params.id);
      return { ...client, queue: await queueOf(client.id) };
    },
  );

  app.patch(
    '/clients/:id',
    {
      schema: {
        operationId: 'updateClient',
        summary: 'Change a client',
        tags: ['admin'],
        'x-error-codes': ['INVALID_INPUT', 'CLIENT_NOT_FOUND', 'DATABASE_UNAVAILABLE'],
        'x-returns': 'The client',
        params: clientIdParams,
        body: updateClientBody,
        response: { 200: clientView, ...errorResponses },
      },
    },
    async (request) => clients.update(request.params.id, request.body),
  );

  app.post(
    '/clients/:id/keys',
    {
      schema: {
        operationId: 'createApiKey',
        summary: 'Issue an API key',
        tags: ['admin'],
        'x-error-codes': ['CLIENT_NOT_FOUND', 'DATABASE_UNAVAILABLE'],
        'x-returns': 'The key, shown this once',
        params: clientIdParams,
        response: { 201: createdKey, ...errorResponses },
      },
    },
    async (request, reply) => reply.status(201).send(await clients.issueKey(request.params.id)),
  );

  // Revocation holds on every replica's next request: keys are looked up afresh on each one.
  app.delete(
    '/keys/:keyId',
    {
      schema: {
        operationId: 'revokeApiKey',
        summary: 'Revoke an API key',
        tags: ['admin'],
        'x-error-codes': ['API_KEY_NOT_FOUND', 'DATABASE_UNAVAILABLE'],
        'x-returns': 'The key, revoked',
        params: keyIdParams,
        response: { 200: apiKeyView, ...errorResponses },
      },
    },
    async (request) => clients.revokeKey(request.params.keyId),
  );
};

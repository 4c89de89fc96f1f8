import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseIncludes } from '../../../engine/editExtras.js';
import { adminEditPage, adminEditResource } from '../../../engine/editResource.js';
import type { EditService } from '../../../engine/edits.js';
import { adminListEditsQuery, editIdParams } from '../../../engine/schemas/edits.js';
import { errorResponses } from '../../../errors.js';
import { adminAuth } from '../../plugins/adminAuth.js';

export interface AdminEditRoutesOptions {
  adminToken: string;
  edits: EditService;
}

const getEditQuery = z.object({
  include: z.string().optional().describe('Comma-separated extras, as on GET /v1/edits/{id}: `history`, `attempts`, `deliveries`'),
});

/**
 * Every client's edits, for the operator (the console's admin view). Read-only: cancelling and redelivering stay
 * the client's own acts, on the client API. Registered only when ADMIN_TOKEN is set, and behind it.
 */
export const adminEditRoutes: FastifyPluginAsyncZod<AdminEditRoutesOptions> = async (app, { adminToken, edits }) => {
  await app.register(adminAuth, { token: adminToken });

  app.get(
    '/edits',
    {
      schema: {
        operationId: 'adminListEdits',
        summary: 'List every client’s edits, newest first',
        tags: ['admin'],
        'x-error-codes': ['INVALID_INPUT', 'DATABASE_UNAVAILABLE'],
        'x-returns': 'A page of edits, each with its clientId; pass `nextCursor` back as `cursor` for the next',
        querystring: adminListEditsQuery,
        response: { 200: adminEditPage, ...errorResponses },
      },
    },
    async (request) => edits.listAsAdmin(request.query),
  );

  app.get(
    '/edits/:id',
    {
      schema: {
        operationId: 'adminGetEdit',
        summary: 'Read any client’s edit',
        tags: ['admin'],
        'x-error-codes': ['EDIT_NOT_FOUND', 'DATABASE_UNAVAILABLE'],
        'x-returns': 'The edit, with its clientId',
        params: editIdParams,
        querystring: getEditQuery,
        response: { 200: adminEditResource, ...errorResponses },
      },
    },
    async (request) => edits.getAsAdmin(request.params.id, parseIncludes(request.query.include)),
  );
};

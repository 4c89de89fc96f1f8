import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { CallbackService } from '../../../engine/callbacks/callbackService.js';
import { editResource } from '../../../engine/editResource.js';
import type { EditService } from '../../../engine/edits.js';
import { editIdParams } from '../../../engine/schemas/edits.js';
import { errorResponses } from '../../../errors.js';

export interface CallbackRoutesOptions {
  callbacks: CallbackService;
  edits: EditService;
}

export const callbackRoutes: FastifyPluginAsyncZod<CallbackRoutesOptions> = async (app, { callbacks, edits }) => {
  // 202: the new attempts happen in the background; GET /v1/edits/{id} follows them under `callback`.
  app.post(
    '/edits/:id/callback/redeliver',
    {
      schema: {
        operationId: 'redeliverCallback',
        summary: 'Send a delivered or failed callback again',
        description:
          'At most once per edit within CALLBACK_REDELIVER_COOLDOWN_MS (60 s by default); a redeliver sooner is `429 REDELIVER_TOO_SOON` with `Retry-After`, and changes nothing.',
        tags: ['callbacks'],
        'x-error-codes': ['EDIT_NOT_FOUND', 'CALLBACK_NOT_REDELIVERABLE', 'REDELIVER_TOO_SOON', 'CALLBACKS_DISABLED', 'DATABASE_UNAVAILABLE'],
        'x-returns': 'The edit; the new attempts follow in the background under `callback`',
        params: editIdParams,
        response: { 202: editResource, ...errorResponses },
      },
    },
    async (request, reply) => {
      await callbacks.redeliver(request.params.id, request.clientId);
      return reply.status(202).send(await edits.get(request.params.id, request.clientId));
    },
  );
};

import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { invalidUtf8 } from '../../errors.js';
import { decodeUtf8 } from '../../shared/safeText.js';

/**
 * JSON bodies are read as bytes and decoded strictly: bytes that are not UTF-8 are refused (400 INVALID_UTF8)
 * instead of becoming U+FFFD, so a body is stored exactly as sent or not at all. Parsing is then Fastify's own
 * (empty-body and prototype-poisoning checks included). A scope that needs the bytes (PixelByte's webhook) sets
 * a parser of its own. Breaks encapsulation: the parser is the root's, so every scope inherits it.
 */
export const jsonBody = fp(
  async (app: FastifyInstance) => {
    const { onProtoPoisoning = 'error', onConstructorPoisoning = 'error' } = app.initialConfig;
    const parseJson = app.getDefaultJsonParser(onProtoPoisoning, onConstructorPoisoning);
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, bytes: Buffer, done) => {
      const text = decodeUtf8(bytes);
      if (text === null) return done(invalidUtf8(), undefined);
      parseJson(request, text, done);
    });
  },
  { name: 'json-body', fastify: '5.x' },
);

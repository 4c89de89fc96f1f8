import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { CONSOLE_SECURITY_HEADERS } from './securityHeaders.js';

/** Where the console is served; `npm run build:console` builds it for this base. */
export const CONSOLE_PREFIX = '/console/';

/** dist/console at the repository's root, from src/api/console (tsx) as from dist/api/console (the build). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../dist/console/', import.meta.url));

export interface ConsoleOptions {
  /** The built console (its index.html and assets/). */
  dir?: string;
}

const withSecurityHeaders = (reply: FastifyReply) => {
  for (const [name, value] of Object.entries(CONSOLE_SECURITY_HEADERS)) void reply.header(name, value);
};

/**
 * The console's built files at /console/, and its index.html for any other path below it, so a page's own URL
 * (/console/edits/…) opens the app. Encapsulated (no fastify-plugin): its headers stay on its own routes.
 */
export const consoleRoutes: FastifyPluginAsync<ConsoleOptions> = async (app, options) => {
  const dir = options.dir ?? DEFAULT_CONSOLE_DIR;
  const indexFile = join(dir, 'index.html');
  if (!existsSync(indexFile)) {
    // A checkout that never ran `npm run build:console`: the API works, and the log says how to get the console.
    app.log.warn({ dir }, 'the console is not built (npm run build:console): /console is not served');
    return;
  }
  // Read once: the build does not change under a running process.
  const index = readFileSync(indexFile);

  app.addHook('onSend', async (_request, reply) => {
    withSecurityHeaders(reply);
  });

  await app.register(fastifyStatic, {
    root: dir,
    prefix: CONSOLE_PREFIX,
    // @fastify/swagger-ui and bull-board register the same plugin; only one of them may decorate the reply.
    decorateReply: false,
    // Files are routed one by one as found at startup, so every other path below the prefix reaches the fallback.
    wildcard: false,
    index: false,
    setHeaders: (res, path) => {
      // Vite names every asset by its content hash: a new build is new URLs, so they never need revalidating.
      res.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
    schemaHide: true,
  });

  const sendIndex = (reply: FastifyReply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(index);
  app.get('/console', { schema: { hide: true } }, (_request, reply) => reply.redirect(CONSOLE_PREFIX));
  app.get(CONSOLE_PREFIX, { schema: { hide: true } }, (_request, reply) => sendIndex(reply));
  app.get(`${CONSOLE_PREFIX}*`, { schema: { hide: true } }, (request, reply) => {
    // A missing asset is a 404, not the app's page with a 200 (a stale tab asking for an old build's chunk).
    if (request.url.startsWith(`${CONSOLE_PREFIX}assets/`)) return reply.callNotFound();
    return sendIndex(reply);
  });
};

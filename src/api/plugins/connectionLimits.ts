import type { Server } from 'node:http';
import type { FastifyHttpOptions, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';

// Node looks for requests past their deadline on this interval (30 s by default), which would let a trickling
// client overstay HTTP_REQUEST_TIMEOUT_MS by up to that much. The check walks only connections mid-request.
const DEADLINE_CHECK_INTERVAL_MS = 1_000;

export type ConnectionTimeoutsConfig = Pick<Config, 'HTTP_REQUEST_TIMEOUT_MS' | 'HTTP_KEEP_ALIVE_TIMEOUT_MS' | 'UPSTREAM_TIMEOUT_MS'>;

/**
 * Fastify server options that bound how long one client can hold a socket, whatever it sends or does not.
 * Options, not a plugin: Fastify hands them to node's createServer before any plugin runs.
 */
export function connectionTimeouts(
  config: ConnectionTimeoutsConfig,
): Pick<FastifyHttpOptions<Server>, 'requestTimeout' | 'keepAliveTimeout' | 'connectionTimeout' | 'http'> {
  return {
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    // A socket silent both ways for longer than a request may take to arrive plus the longest wait of a handler
    // (a cancel waits on PixelByte) has a stalled peer, e.g. one that stopped reading its answer.
    connectionTimeout: config.HTTP_REQUEST_TIMEOUT_MS + config.UPSTREAM_TIMEOUT_MS,
    // Given to node's createServer too, so the headers deadline it derives (min(60 s, requestTimeout)) follows it.
    http: { requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS, connectionsCheckingInterval: DEADLINE_CHECK_INTERVAL_MS },
  };
}

export interface ConnectionLimitsOptions {
  /** HTTP_MAX_CONNECTIONS: node closes a connection beyond it as soon as it is accepted. */
  maxConnections: number;
}

/** Caps the sockets the server holds at once, so a crowd of idle or slow clients cannot exhaust it. */
export const connectionLimits = fp(
  async (app: FastifyInstance, opts: ConnectionLimitsOptions) => {
    app.server.maxConnections = opts.maxConnections;
  },
  { name: 'connection-limits', fastify: '5.x' },
);

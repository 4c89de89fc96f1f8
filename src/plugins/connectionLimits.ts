import type { FastifyHttpOptions } from 'fastify';
import type { Server } from 'node:http';
import type { Config } from '../config.js';

// Node looks for requests past their deadline on this interval (30 s by default), which would let a trickling
// client overstay HTTP_REQUEST_TIMEOUT_MS by up to that much. The check walks only connections mid-request.
const DEADLINE_CHECK_INTERVAL_MS = 1_000;

export type ConnectionLimitsConfig = Pick<Config, 'HTTP_REQUEST_TIMEOUT_MS' | 'HTTP_KEEP_ALIVE_TIMEOUT_MS' | 'UPSTREAM_TIMEOUT_MS'>;

/** Fastify server options that bound how long one client can hold a socket, whatever it sends or does not. */
export function connectionLimits(config: ConnectionLimitsConfig): Pick<FastifyHttpOptions<Server>, 'requestTimeout' | 'keepAliveTimeout' | 'connectionTimeout' | 'http'> {
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

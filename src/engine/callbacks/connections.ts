import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';

/**
 * Keep-alive connections for callback POSTs. A connection per POST cost the worker its connect and close (and a
 * TLS handshake for https) on every delivery. Pooling must not weaken the DNS pinning of urlSafety.ts: a
 * connection is pooled under its origin AND the set of addresses the attempt that opened it had checked, so an
 * attempt reuses only connections to addresses it checked itself. When DNS moves, the new answer gets new connections.
 */

/** Idle connections close after this: below the 5 s keep-alive of Node's own servers, so we seldom write to one the receiver is closing. */
const IDLE_TIMEOUT_MS = 4_000;

/** Request options carrying the pool key of the checked addresses (see `pinKey`). */
export interface PinnedRequestOptions extends http.RequestOptions {
  pinnedTo: string;
}

/** One key per set of checked addresses, whatever order DNS gave them in; '' when any address is allowed. */
export const pinKey = (addresses: LookupAddress[] | undefined): string =>
  addresses
    ? addresses
        .map((a) => `${a.family}/${a.address}`)
        .sort()
        .join(',')
    : '';

const pinnedName = (name: string, options: http.ClientRequestArgs | undefined) => `${name}|${(options as Partial<PinnedRequestOptions>)?.pinnedTo ?? ''}`;

/** agent.getName is the documented key of Node's pool: adding the pin key there splits the pool per address set. */
class PinnedHttpAgent extends http.Agent {
  override getName(options?: http.ClientRequestArgs): string {
    return pinnedName(super.getName(options), options);
  }
}

class PinnedHttpsAgent extends https.Agent {
  override getName(options?: https.RequestOptions): string {
    return pinnedName(super.getName(options), options);
  }
}

// `timeout` is the idle socket's: the agent closes a free socket that times out. Free sockets are unref'd, so they
// never keep a stopping process alive. A receiver's `Keep-Alive: timeout=N` hint shortens the wait (Node's agent reads it).
const agentOptions = { keepAlive: true, timeout: IDLE_TIMEOUT_MS, scheduling: 'lifo' } as const;
export const callbackAgents = { http: new PinnedHttpAgent(agentOptions), https: new PinnedHttpsAgent(agentOptions) };

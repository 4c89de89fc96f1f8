import type { LookupAddress } from 'node:dns';
import { Resolver } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Outbound safety for callback URLs: a client must not be able to make pixelrelay POST into its own
 * network (loopback, private ranges, cloud metadata). Checked when an edit is accepted and again before
 * every attempt, and the attempt then connects only to the addresses that were checked, so a DNS answer
 * that changes between the check and the connection (DNS rebinding) cannot slip through.
 */
export interface CallbackUrlPolicy {
  /** Allow plain http (ALLOW_HTTP_CALLBACKS). */
  allowHttp: boolean;
  /** Allow loopback, private, link-local and metadata addresses (CALLBACK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
}

export type CallbackUrlCheck =
  /** `addresses` are the checked addresses to connect to; undefined when any address is allowed. */
  | { kind: 'allowed'; url: URL; addresses?: LookupAddress[] }
  | { kind: 'refused'; reason: string }
  /** The name did not resolve (now): nothing can be judged, and nothing can be sent. */
  | { kind: 'unresolved'; url: URL; reason: string };

export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

export interface DnsResolveOptions {
  /** Name servers as `host` or `host:port`; the system's (/etc/resolv.conf) when absent. */
  servers?: string[];
  /** c-ares' first per-query timeout; it doubles on each retry. */
  timeoutMs?: number;
  /** Queries per server before c-ares gives up. */
  tries?: number;
  /** Outstanding queries are cancelled after this, however many servers there are to try. */
  deadlineMs?: number;
}

/** RFC 6761: `localhost` and its subdomains are loopback, whatever a DNS server would say about them. */
const LOOPBACK_NAME = /(^|\.)localhost\.?$/;

export async function checkCallbackUrl(raw: string, policy: CallbackUrlPolicy, resolve: Resolve = dnsResolve()): Promise<CallbackUrlCheck> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { kind: 'refused', reason: 'is not a URL' };
  }
  // Every API key can read an edit's callbackUrl, so a secret in it would be shown to all of them.
  if (url.username || url.password) return { kind: 'refused', reason: 'must not contain credentials (user:password@)' };
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    return { kind: 'refused', reason: url.protocol === 'http:' ? 'must use https' : `must use https, not ${url.protocol.replace(/:$/, '')}` };
  }
  if (policy.allowPrivate) return { kind: 'allowed', url };

  // The WHATWG parser has already turned 2130706433, 0x7f.1 and friends into dotted quads.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(host);
  if (!family && LOOPBACK_NAME.test(host)) return { kind: 'refused', reason: `${host} is a loopback name` };

  let addresses: LookupAddress[];
  if (family) {
    addresses = [{ address: host, family }];
  } else {
    try {
      addresses = await resolve(host);
    } catch (err) {
      const { code, message } = err as NodeJS.ErrnoException;
      return { kind: 'unresolved', url, reason: `${host} does not resolve (${code ?? message})` };
    }
    if (addresses.length === 0) return { kind: 'unresolved', url, reason: `${host} does not resolve` };
  }
  for (const { address } of addresses) {
    const refusal = addressRefusal(address);
    // For a name, the address itself is not told: the answer would make us an oracle for internal DNS.
    if (refusal) return { kind: 'refused', reason: family ? `${host} is ${refusal}` : `${host} resolves to ${refusal}` };
  }
  return { kind: 'allowed', url, addresses };
}

/**
 * Resolves A and AAAA with c-ares (dns.Resolver), not dns.lookup(): getaddrinfo runs on libuv's thread
 * pool (4 threads, shared with fs, crypto and zlib) and cannot be cancelled, so a few callback hosts whose
 * name servers never answer would stall every file read and lookup in the process. c-ares waits on the
 * event loop, with its own timeout. It reads /etc/resolv.conf but not /etc/hosts: a callback host must be in DNS.
 * A family with no records (NODATA, NXDOMAIN) is empty; any other failure fails the whole answer, since
 * a name is judged on all of its addresses.
 */
export function dnsResolve({ servers, timeoutMs = 1_000, tries = 2, deadlineMs = 5_000 }: DnsResolveOptions = {}): Resolve {
  return async (hostname) => {
    // One resolver per name, so that the deadline cancels this name's queries and nobody else's.
    const resolver = new Resolver({ timeout: timeoutMs, tries });
    if (servers) resolver.setServers(servers);
    const deadline = setTimeout(() => resolver.cancel(), deadlineMs);
    try {
      const [v4, v6] = await Promise.all([records(resolver.resolve4(hostname), 4), records(resolver.resolve6(hostname), 6)]);
      return [...v4, ...v6];
    } finally {
      clearTimeout(deadline);
      resolver.cancel();
    }
  };
}

const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);

async function records(query: Promise<string[]>, family: 4 | 6): Promise<LookupAddress[]> {
  try {
    return (await query).map((address) => ({ address, family }));
  } catch (err) {
    if (NO_RECORDS.has((err as NodeJS.ErrnoException).code ?? '')) return [];
    throw err;
  }
}

/** A `lookup` for http.request that hands out only the given, already checked addresses. */
export function pinnedLookup(addresses: LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const usable = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
    const first = usable[0];
    if (!first) {
      const err: NodeJS.ErrnoException = Object.assign(new Error('no checked address of the requested family'), { code: 'ENOTFOUND' });
      callback(err, '', 0);
    } else if (options.all) {
      callback(null, usable);
    } else {
      callback(null, first.address, first.family);
    }
  };
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;
const cidr = (text: string) => ipaddr.parseCIDR(text);

/**
 * Ranges ipaddr.js files under a broader name, named here so the reason can say what they are: metadata
 * is also link-local or unique-local, the 6to4 relay anycast is "reserved", and local-use NAT64 is "rfc6052".
 */
const NARROWER_RANGES: Parameters<typeof ipaddr.subnetMatch>[1] = {
  cloudMetadata: [cidr('169.254.169.254/32'), cidr('fd00:ec2::254/128')],
  sixToFourRelay: cidr('192.88.99.0/24'),
  // RFC 8215: each network picks where the IPv4 sits under this prefix, so what it reaches cannot be told.
  localUseNat64: cidr('64:ff9b:1::/48'),
};
/** Deprecated IPv4-compatible addresses (RFC 4291 2.5.5.1), which ipaddr.js calls unicast. */
const IPV4_COMPATIBLE = cidr('::/96');

/**
 * Where the IPv4 address sits in each IPv6 form that carries one (bytes of the IPv6 address): mapped and
 * compatible (RFC 4291), SIIT (RFC 6145), well-known NAT64 (RFC 6052, 64:ff9b::/96), 6to4 (RFC 3056), and
 * Teredo's server and client (RFC 4380; the client's is stored inverted). Such an address reaches that IPv4.
 */
const CARRIED_IPV4: Record<string, (bytes: number[]) => number[][]> = {
  ipv4Mapped: (b) => [b.slice(12)],
  ipv4Compatible: (b) => [b.slice(12)],
  rfc6145: (b) => [b.slice(12)],
  rfc6052: (b) => [b.slice(12)],
  '6to4': (b) => [b.slice(2, 6)],
  teredo: (b) => [b.slice(4, 8), b.slice(12).map((byte) => byte ^ 0xff)],
};

const DESCRIPTIONS: Record<string, string> = {
  cloudMetadata: 'a cloud metadata address',
  sixToFourRelay: 'a 6to4 relay anycast address',
  localUseNat64: 'a local-use NAT64 address',
  unspecified: 'an unspecified address',
  broadcast: 'a broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a shared (carrier-grade NAT) address',
  private: 'a private address',
  uniqueLocal: 'a unique-local (private) address',
  deprecatedSiteLocal: 'a site-local address',
  reserved: 'a reserved or documentation address',
  benchmarking: 'a benchmarking address',
  discard: 'a discard-only address',
  as112: 'an AS112 (DNS sink) address',
  as112v6: 'an AS112 (DNS sink) address',
  amt: 'an AMT relay address',
  ipv4Mapped: 'an IPv4-mapped address',
  ipv4Compatible: 'an IPv4-compatible address',
  rfc6145: 'an IPv4-translated (SIIT) address',
  rfc6052: 'a NAT64 address',
  '6to4': 'a 6to4 address',
  teredo: 'a Teredo address',
};
const describe = (range: string) => DESCRIPTIONS[range] ?? `a special-purpose address (${range})`;

/**
 * Why pixelrelay must not call `ip` (e.g. "a loopback address"), or null when it is a public address:
 * only what ipaddr.js calls `unicast` is public, and an IPv6 form that carries an IPv4 is judged by that IPv4.
 */
export function addressRefusal(ip: string): string | null {
  if (!ipaddr.isValid(ip)) return 'not an IP address';
  const address = ipaddr.parse(ip);
  const range = rangeOf(address);
  if (range === 'unicast') return null;
  const carried = CARRIED_IPV4[range];
  if (!carried) return describe(range);
  for (const bytes of carried(address.toByteArray())) {
    const refusal = addressRefusal(ipaddr.fromByteArray(bytes).toString());
    if (refusal) return `${refusal} carried in ${describe(range)}`;
  }
  return null;
}

function rangeOf(address: Address): string {
  const narrower = ipaddr.subnetMatch(address, NARROWER_RANGES, 'none');
  if (narrower !== 'none') return narrower;
  const range = address.range();
  return range === 'unicast' && address.kind() === 'ipv6' && address.match(IPV4_COMPATIBLE) ? 'ipv4Compatible' : range;
}

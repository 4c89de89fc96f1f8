import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { addressRefusal, checkCallbackUrl, pinnedLookup, type CallbackUrlPolicy } from '../../src/callbacks/urlSafety.js';

const strict: CallbackUrlPolicy = { allowHttp: false, allowPrivate: false };
const resolvesTo = (...addresses: string[]) => async (): Promise<LookupAddress[]> => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('addressRefusal', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['ff02::1', 'multicast'],
  ])('refuses %s (%s)', (ip, what) => {
    expect(addressRefusal(ip)).toContain(what);
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'], // how the URL parser writes it
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:a9fe:a9fe', 'metadata'], // 169.254.169.254
    ['0:0:0:0:0:ffff:c0a8:0101', 'private'], // 192.168.1.1
    ['64:ff9b::a00:1', 'private'], // NAT64 of 10.0.0.1
    ['::127.0.0.1', 'loopback'], // IPv4-compatible
  ])('looks through IPv6 that carries IPv4: %s', (ip, what) => {
    expect(addressRefusal(ip)).toContain(what);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1', '169.253.0.1', '11.0.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', 'fbff::1', 'fe00::1'])(
    'allows the public address %s',
    (ip) => {
      expect(addressRefusal(ip)).toBeNull();
    },
  );
});

describe('checkCallbackUrl', () => {
  it('requires https unless plain http is allowed', async () => {
    expect(await checkCallbackUrl('http://hooks.example.com/x', strict, resolvesTo('93.184.216.34'))).toEqual({ kind: 'refused', reason: 'must use https' });
    expect(await checkCallbackUrl('ftp://hooks.example.com/x', { ...strict, allowHttp: true })).toMatchObject({ kind: 'refused' });
    expect(await checkCallbackUrl('http://hooks.example.com/x', { ...strict, allowHttp: true }, resolvesTo('93.184.216.34'))).toMatchObject({ kind: 'allowed' });
  });

  it('refuses literal addresses in every spelling the URL parser accepts', async () => {
    for (const url of ['https://127.0.0.1/x', 'https://2130706433/x', 'https://0x7f.1/x', 'https://[::1]/x', 'https://[::ffff:127.0.0.1]/x', 'https://169.254.169.254/latest/meta-data/', 'https://10.0.0.7:8443/']) {
      expect(await checkCallbackUrl(url, strict, resolvesTo()), url).toMatchObject({ kind: 'refused' });
    }
  });

  it('refuses a name when any of its addresses is refused, without telling the address', async () => {
    const check = await checkCallbackUrl('https://internal.example.com/x', strict, resolvesTo('93.184.216.34', '10.0.0.5'));
    expect(check).toEqual({ kind: 'refused', reason: 'internal.example.com resolves to a private address' });
  });

  it('allows a public name and hands back the checked addresses to connect to', async () => {
    const check = await checkCallbackUrl('https://hooks.example.com/x', strict, resolvesTo('93.184.216.34', '2606:2800:220:1::1'));
    expect(check).toMatchObject({ kind: 'allowed', addresses: [{ address: '93.184.216.34' }, { address: '2606:2800:220:1::1' }] });
  });

  it('reports a name that does not resolve as unresolved', async () => {
    const failing = async () => {
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    };
    expect(await checkCallbackUrl('https://nowhere.invalid/x', strict, failing)).toMatchObject({ kind: 'unresolved', reason: 'nowhere.invalid does not resolve (ENOTFOUND)' });
  });

  it('resolves localhost for real and refuses it', async () => {
    expect(await checkCallbackUrl('https://localhost:8443/x', strict)).toMatchObject({ kind: 'refused', reason: expect.stringContaining('loopback') });
  });

  it('lets everything through when private addresses are allowed', async () => {
    const check = await checkCallbackUrl('https://127.0.0.1/x', { ...strict, allowPrivate: true });
    expect(check.kind).toBe('allowed');
    expect(check.kind === 'allowed' && check.addresses).toBeUndefined();
  });
});

describe('pinnedLookup', () => {
  const addresses: LookupAddress[] = [
    { address: '93.184.216.34', family: 4 },
    { address: '2606:2800:220:1::1', family: 6 },
  ];
  const call = (options: object) =>
    new Promise<unknown[]>((resolve) => pinnedLookup(addresses)('anything.example', options as never, (...args: unknown[]) => resolve(args)));

  it('answers only with the checked addresses', async () => {
    expect(await call({ all: true })).toEqual([null, addresses]);
    expect(await call({})).toEqual([null, '93.184.216.34', 4]);
    expect(await call({ family: 6 })).toEqual([null, '2606:2800:220:1::1', 6]);
  });
});

import { describe, expect, it } from 'vitest';
import { addressKey } from '../../src/api/plugins/rateLimit.js';

describe('addressKey: the address failed keys are counted under', () => {
  it.each([
    ['IPv4', '198.51.100.7', '198.51.100.7'],
    ['IPv4 mapped into IPv6', '::ffff:198.51.100.7', '198.51.100.7'],
    ['IPv4 mapped, upper case', '::FFFF:198.51.100.7', '198.51.100.7'],
    ['IPv6, compressed', '2001:db8:7:1::5', '2001:db8:7:1::/64'],
    ['IPv6, written out', '2001:0db8:0007:0001:ffff:ffff:ffff:fffe', '2001:db8:7:1::/64'],
    ['IPv6 with the zeros inside its /64', '2001:db8::1', '2001:db8:0:0::/64'],
    ['IPv6 with a zone', 'fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['IPv6 loopback', '::1', '0:0:0:0::/64'],
    ['IPv6 embedding IPv4 in its last bits (NAT64)', '64:ff9b::198.51.100.7', '64:ff9b:0:0::/64'],
    ['IPv6 whose /64 ends in an embedded IPv4', '2001:db8:1:2:3:4:192.0.2.1', '2001:db8:1:2::/64'],
  ])('%s', (_what, ip, key) => {
    expect(addressKey(ip)).toBe(key);
  });

  it('gives every address of one /64 the same key, and the next /64 another', () => {
    const keys = new Set(['2001:db8:7:1::', '2001:db8:7:1::1', '2001:db8:7:1:8000::', '2001:db8:7:1:ffff:ffff:ffff:ffff'].map(addressKey));
    expect(keys.size).toBe(1);
    expect(addressKey('2001:db8:7:2::1')).not.toBe(addressKey('2001:db8:7:1::1'));
  });
});

import { describe, expect, it } from 'vitest';
import { requestHash, stableJson } from '../../src/engine/accept/requestHash.js';

describe('requestHash', () => {
  it('ignores key order and undefined members, and tells different values apart', () => {
    expect(stableJson({ b: 1, a: [{ d: 2, c: undefined }, 'x'] })).toBe('{"a":[{"d":2},"x"],"b":1}');
    expect(requestHash({ model: 'm', input: { prompt: 'p', size: '2K' } })).toBe(
      requestHash({ input: { size: '2K', prompt: 'p' }, model: 'm', metadata: undefined }),
    );
    expect(requestHash({ input: { prompt: 'p' } })).not.toBe(requestHash({ input: { prompt: 'q' } }));
    expect(requestHash({ n: '1' })).not.toBe(requestHash({ n: 1 }));
  });
});

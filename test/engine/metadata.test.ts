import { describe, expect, it } from 'vitest';
import { METADATA_LIMITS, metadataIssues } from '../../src/engine/accept/metadata.js';
import { isStorableText } from '../../src/shared/safeText.js';

describe('metadataIssues', () => {
  it('walks any depth without recursion and stops at the limit', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    const issues = metadataIssues({ deep });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toHaveLength(METADATA_LIMITS.maxDepth);
    expect(issues[0]!.message).toMatch(/deeper than 32/);
  });

  it('names every bad value in document order, up to a bounded number', () => {
    expect(metadataIssues(JSON.parse('{"a":1e400,"b":["ok","\\u0000"],"c":{"\\ud800":9007199254740992}}')).map((i) => i.path)).toEqual([
      ['a'],
      ['b', 1],
      ['c', '\ud800'],
      ['c', '\ud800'],
    ]);
    const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, '\u0000']));
    expect(metadataIssues(many)).toHaveLength(20);
  });

  it('accepts what JSON and Postgres both hold exactly', () => {
    expect(metadataIssues({ a: [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0.1, null, false], '😀': '😀', e: {} })).toEqual([]);
  });
});

describe('isStorableText', () => {
  it.each([
    ['plain', 'hello', true],
    ['a surrogate pair', '\ud83d\ude00', true],
    ['U+0000', 'a\u0000', false],
    ['a lone high surrogate at the end', 'a\ud83d', false],
    ['a lone low surrogate at the start', '\ude00a', false],
    ['two high surrogates', '\ud83d\ud83d\ude00', false],
  ])('%s → %s', (_what, text, storable) => {
    expect(isStorableText(text)).toBe(storable);
  });
});

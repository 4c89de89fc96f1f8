import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../helpers/compose.js';
import { sourceFiles } from '../helpers/imports.js';
import { testQueuePrefix } from '../helpers/services.js';

// test/globalSetup.ts deletes the run's Redis keys by their prefix after the run; a queue prefix made up anywhere
// else would outlive the run in a Redis that developers and CI share.

describe("the test run's Redis keys", () => {
  it('live under the run’s own prefix, which names when the run started', () => {
    const runPrefix = inject('redisPrefix');
    expect(runPrefix).toMatch(/^test-\d{13}-[0-9a-f]{6}$/);
    const prefix = testQueuePrefix();
    expect(prefix.startsWith(`${runPrefix}-`)).toBe(true);
    expect(prefix).not.toBe(testQueuePrefix());
  });

  it('are never written under a queue prefix spelled out in a test', () => {
    const literal = [/QUEUE_PREFIX:\s*[`'"]/, /createQueues\([^,()]+,\s*[`'"]/];
    for (const file of sourceFiles('test')) {
      const text = readFileSync(file, 'utf8');
      for (const pattern of literal) expect(pattern.test(text), `${path.relative(REPO_ROOT, file)}: use testQueuePrefix()`).toBe(false);
    }
  });
});

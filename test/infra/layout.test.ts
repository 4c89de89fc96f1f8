import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/compose.js';
import { sourceFiles, specifiersOf, topLevelFolderOf } from '../helpers/imports.js';

// Who may import whom among the top-level folders. The product (src/) is what the image runs, so it imports none of
// the rest; tools and tests share helpers through testkit/, never through test/ (which vitest owns: its helpers read
// the run's injected context).
const MAY_IMPORT: Record<string, string[]> = {
  src: ['src'],
  simulator: ['simulator'],
  testkit: ['testkit'],
  tools: ['tools', 'src', 'simulator', 'testkit'],
  test: ['test', 'src', 'simulator', 'testkit', 'tools'],
};

describe('the top-level folders', () => {
  for (const [folder, allowed] of Object.entries(MAY_IMPORT)) {
    it(`${folder}/ imports only from ${allowed.join(', ')}`, () => {
      const files = sourceFiles(folder);
      expect(files.length, folder).toBeGreaterThan(0);
      for (const file of files) {
        for (const spec of specifiersOf(file).filter((s) => s.startsWith('.'))) {
          expect(allowed, `${path.relative(REPO_ROOT, file)} imports ${spec}`).toContain(topLevelFolderOf(file, spec));
        }
      }
    });
  }
});

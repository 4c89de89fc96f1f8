import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/compose.js';
import { sourceFiles, specifiersOf, topLevelFolderOf } from '../helpers/imports.js';

// Who may import whom among the top-level folders. The product (src/) is what the image runs, so it imports none of
// the rest; tools and tests share helpers through testkit/, never through test/ (which vitest owns: its helpers read
// the run's injected context).
// The console is browser code built on its own: it imports only itself (its API types are generated, not imported).
const MAY_IMPORT: Record<string, string[]> = {
  src: ['src'],
  simulator: ['simulator'],
  testkit: ['testkit'],
  console: ['console'],
  tools: ['tools', 'src', 'simulator', 'testkit'],
  test: ['test', 'src', 'simulator', 'testkit', 'tools', 'console'],
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

// The rooms of src/, each importing only rooms below it: a route reaches the database through the engine and the
// store, never the other way round. compose.ts, start.ts and main.ts (the roots) see everything.
const SRC_BELOW: Record<string, string[]> = {
  api: ['engine', 'store', 'queue', 'metrics', 'upstream', 'catalog', 'infra', 'shared', 'errors.ts', 'errorCatalog.ts', 'config.ts', 'generated'],
  queue: ['engine', 'store', 'upstream', 'infra', 'shared', 'errors.ts', 'errorCatalog.ts'],
  metrics: ['queue', 'store', 'infra', 'shared', 'generated'],
  engine: ['store', 'upstream', 'storage', 'catalog', 'infra', 'shared', 'errors.ts', 'errorCatalog.ts', 'generated'],
  store: ['infra', 'shared', 'errors.ts', 'errorCatalog.ts', 'generated'],
  upstream: ['infra', 'shared', 'errors.ts', 'errorCatalog.ts'],
  storage: ['infra', 'shared', 'errors.ts', 'errorCatalog.ts'],
  catalog: ['shared', 'errors.ts', 'errorCatalog.ts'],
  infra: ['generated'],
  shared: [],
};

describe('the rooms of src/', () => {
  const roomOf = (absolute: string) => path.relative(path.join(REPO_ROOT, 'src'), absolute).split(path.sep)[0]!;
  for (const [room, below] of Object.entries(SRC_BELOW)) {
    it(`src/${room}/ imports only itself and ${below.join(', ') || 'nothing else'}`, () => {
      for (const file of sourceFiles(`src/${room}`)) {
        for (const spec of specifiersOf(file).filter((s) => s.startsWith('.'))) {
          const target = roomOf(path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'));
          if (target === room) continue;
          expect(below, `${path.relative(REPO_ROOT, file)} imports ${spec}`).toContain(target);
        }
      }
    });
  }
});

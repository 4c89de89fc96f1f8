import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/compose.js';
import { sourceFiles, specifiersOf, topLevelFolderOf } from '../helpers/imports.js';

// The simulator plays PixelByte: were it to share the relay's code (signing, models, schemas), a mistake there would
// be made the same way on both sides and no test would see it. It also runs in the image, which has no dev dependencies.

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

describe('the simulator', () => {
  const files = sourceFiles('simulator');

  it('imports nothing of the relay: its relative imports stay inside simulator/', () => {
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      for (const spec of specifiersOf(file).filter((s) => s.startsWith('.'))) {
        expect(topLevelFolderOf(file, spec), `${path.relative(REPO_ROOT, file)} imports ${spec}`).toBe('simulator');
      }
    }
  });

  it('uses only Node built-ins and production dependencies, which the image installs', () => {
    for (const file of files) {
      for (const spec of specifiersOf(file).filter((s) => !s.startsWith('.'))) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        expect(spec.startsWith('node:') || name in pkg.dependencies, `${path.relative(REPO_ROOT, file)} imports ${spec}`).toBe(true);
      }
    }
  });
});

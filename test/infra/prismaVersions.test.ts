import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/compose.js';

// Our migrations run on @prisma/schema-engine-wasm while `prisma` (the CLI) and @prisma/client come from npm on
// their own: an engine from another Prisma release can read the schema differently, so the versions are held together.
// Read from node_modules directly: several of these packages do not export their package.json.
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { version: string };
const installedVersion = (name: string, under = REPO_ROOT) => readJson(path.join(under, 'node_modules', name, 'package.json')).version;
const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('Prisma packages', () => {
  it('run the schema engine build of the installed prisma CLI', () => {
    // npm nests @prisma/engines' own copy when another version sits at the top.
    const nested = path.join(REPO_ROOT, 'node_modules/@prisma/engines');
    const cliEngines = existsSync(path.join(nested, 'node_modules/@prisma/engines-version'))
      ? installedVersion('@prisma/engines-version', nested)
      : installedVersion('@prisma/engines-version');
    expect(installedVersion('@prisma/schema-engine-wasm')).toBe(cliEngines);
  });

  it('are one release, pinned exactly', () => {
    const release = installedVersion('prisma');
    for (const name of ['@prisma/client', '@prisma/adapter-pg', '@prisma/driver-adapter-utils']) expect(installedVersion(name), name).toBe(release);
    const declared = { ...pkg.dependencies, ...pkg.devDependencies };
    for (const name of ['prisma', '@prisma/client', '@prisma/adapter-pg', '@prisma/driver-adapter-utils', '@prisma/schema-engine-wasm']) {
      expect(declared[name], name).toMatch(/^\d/);
    }
  });

  it('keep the Prisma CLI out of production installs', () => {
    expect(pkg.dependencies.prisma).toBeUndefined();
    expect(pkg.devDependencies.prisma).toBeDefined();
  });
});

import { readFile } from 'node:fs/promises';
import { describe, expect, inject, it } from 'vitest';
import { CONSOLE_API_TYPES, consoleApiTypes, currentOpenapiDocument } from '../../tools/consoleApi.js';

describe('the console’s API types', () => {
  it('are generated from the OpenAPI document the app serves now (run `npm run generate:console-api` when this fails)', async () => {
    const document = await currentOpenapiDocument({ databaseUrl: inject('databaseUrl'), redisUrl: inject('redisUrl') });
    expect(await readFile(CONSOLE_API_TYPES, 'utf8')).toBe(await consoleApiTypes(document));
  });
});

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';

// Node has WebAssembly at run time; its types live in lib.dom, which a server has no business including.
declare const WebAssembly: {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
};

let loaded: Promise<typeof SchemaEngine> | undefined;

/**
 * Prisma's schema engine compiled to WebAssembly (the migrations half of Prisma's CLI), loaded once.
 * It lets us diff and apply migrations where Prisma's native engine binary cannot be downloaded.
 */
export function loadSchemaEngine(): Promise<typeof SchemaEngine> {
  loaded ??= (async () => {
    // Node 20 cannot `import` a .wasm module, so the wasm-bindgen glue is wired to the instance by hand.
    const require = createRequire(import.meta.url);
    const main = require.resolve('@prisma/schema-engine-wasm');
    const bytes = await readFile(path.join(path.dirname(main), 'schema_engine_bg.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bg as never });
    (bg as unknown as { __wbg_set_wasm: (e: unknown) => void }).__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start: () => void }).__wbindgen_start();
    return (bg as unknown as { SchemaEngine: typeof SchemaEngine }).SchemaEngine;
  })();
  return loaded;
}

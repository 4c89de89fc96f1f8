import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';

/**
 * Prisma's schema engine compiled to WebAssembly, talking to Postgres through the pg driver adapter.
 * It lets us diff and apply migrations where Prisma's native engine binary cannot be downloaded,
 * while writing `_prisma_migrations` exactly as `prisma migrate deploy` does.
 */
// Node has WebAssembly at run time; its types live in lib.dom, which a server has no business including.
declare const WebAssembly: {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
};

let wasmReady: Promise<void> | undefined;

function loadWasm(): Promise<void> {
  wasmReady ??= (async () => {
    // Node 20 cannot `import` a .wasm module, so we instantiate the bindings by hand.
    const require = createRequire(import.meta.url);
    const main = require.resolve('@prisma/schema-engine-wasm');
    const bytes = await readFile(path.join(path.dirname(main), 'schema_engine_bg.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bg as never });
    const exports = instance.exports as { __wbindgen_start: () => void };
    (bg as unknown as { __wbg_set_wasm: (e: unknown) => void }).__wbg_set_wasm(exports);
    exports.__wbindgen_start();
  })();
  return wasmReady;
}

export async function openSchemaEngine(connectionString: string, schemaFiles: [string, string][] = []): Promise<SchemaEngine> {
  await loadWasm();
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString }));
  const onLog = (_message: string) => {};
  return (bg as unknown as { SchemaEngine: typeof SchemaEngine }).SchemaEngine.new({ datamodels: schemaFiles }, onLog, adapter);
}

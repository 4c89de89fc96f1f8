import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CONSOLE_API_TYPES, consoleApiTypes, currentOpenapiDocument } from './consoleApi.js';

// The console types its API calls from the same document /docs/json serves, built here without a server.
const types = await consoleApiTypes(await currentOpenapiDocument());
await writeFile(CONSOLE_API_TYPES, types);
console.log(`wrote ${fileURLToPath(CONSOLE_API_TYPES)}`);

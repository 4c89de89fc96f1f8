#!/usr/bin/env node
// `pixelrelay` (package.json bin → dist/cli/pixelrelay.js; in development `npx tsx src/cli/pixelrelay.ts`).
import { runCli } from './pixelrelayCommands.js';

process.exitCode = await runCli(process.argv.slice(2));

#!/usr/bin/env node
// `pixelrelay`: `npm run -s cli -- …` in a checkout, `node dist/cli/pixelrelay.js …` once built (package.json bin).
import { runCli } from './pixelrelayCommands.js';

process.exitCode = await runCli(process.argv.slice(2));

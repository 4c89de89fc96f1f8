// `prisma generate` insists on a schema-engine binary path even though generating a client with
// @prisma/adapter-pg never runs it; where Prisma's CDN is unreachable none was downloaded.
// Point it at any executable so generation works offline.
import { spawnSync } from 'node:child_process';

const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const result = spawnSync('npx', ['--no-install', 'prisma', 'generate'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);

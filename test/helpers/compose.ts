import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
}

/**
 * Compose's variable substitution, as `docker compose config` does it for the forms this project uses:
 * `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}` and `$$`.
 */
export function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (whole, name?: string, colon?: string, op?: string, arg?: string) => {
    if (whole === '$$') return '$';
    const value = env[name!];
    const unset = value === undefined || (colon === ':' && value === '');
    if (op === '-') return unset ? arg! : value!;
    if (op === '?') {
      if (unset) throw new Error(`compose: required variable ${name} is missing: ${arg}`);
      return value!;
    }
    return value ?? '';
  });
}

/** docker-compose.yml's services after substitution and YAML merge keys, as the Docker engine would get them. */
export function loadComposeServices(env: Record<string, string>): Record<string, ComposeService> {
  const text = interpolate(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), env);
  return (parse(text, { merge: true }) as { services: Record<string, ComposeService> }).services;
}

/** A service's environment as the process sees it: every value a string. */
export function environmentOf(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** KEY=value lines of a dotenv file (comments and blank lines skipped), as compose reads `.env`. */
export function readDotenv(file: string): Record<string, string> {
  const entries = readFileSync(path.join(REPO_ROOT, file), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const eq = line.indexOf('=');
      return [line.slice(0, eq), line.slice(eq + 1)] as const;
    });
  return Object.fromEntries(entries);
}

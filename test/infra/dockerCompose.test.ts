import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { loadSimulatorConfig } from '../../src/simulator/config.js';
import { type ComposeService, environmentOf, loadComposeServices, REPO_ROOT, readDotenv } from '../helpers/compose.js';

// No Docker engine runs in CI, so these read docker-compose.yml and the Dockerfile the way the engine would and
// run our own config loaders over what each container would get: a compose file the server refuses fails here.

const appServices = (services: Record<string, ComposeService>) => Object.entries(services).filter(([, s]) => s.build !== undefined);

/** `node dist/x/y.js` in the image is src/x/y.ts compiled; the source must exist. */
function sourceOf(command: string[]): string {
  const script = command.find((arg) => arg.startsWith('dist/'));
  if (!script) throw new Error(`no dist/ script in ${command.join(' ')}`);
  return script.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
}

describe('docker-compose.yml with no .env', () => {
  const services = loadComposeServices({});

  it('starts the API and the worker with a configuration the server accepts', () => {
    const api = loadConfig(environmentOf(services.api!));
    const worker = loadConfig(environmentOf(services.worker!));
    expect(api.ROLE).toBe('api');
    expect(worker.ROLE).toBe('worker');
    expect(services.api!.ports).toContain(`${api.PORT}:${api.PORT}`);
  });

  it('points the relay at the bundled simulator, which accepts its key and calls the api service back over http', () => {
    const api = loadConfig(environmentOf(services.api!));
    const sim = loadSimulatorConfig(environmentOf(services.simulator!));
    expect(services.simulator!.profiles).toBeUndefined();
    expect(new URL(api.PIXELBYTE_API_URL).host).toBe(`simulator:${sim.SIMULATOR_PORT}`);
    expect(sim.SIMULATOR_HOST).toBe('0.0.0.0');
    expect(sim.SIMULATOR_API_KEY).toBe(api.PIXELBYTE_API_KEY);
    expect(sim.SIMULATOR_WEBHOOK_SECRET).toBe(api.PIXELBYTE_WEBHOOK_SECRET);
    expect(new URL(api.PUBLIC_BASE_URL).host).toBe(`api:${api.PORT}`);
    expect(sim.SIMULATOR_HTTP_WEBHOOKS).toBe(true);
    expect(services.simulator!.ports).toContain(`${sim.SIMULATOR_PORT}:${sim.SIMULATOR_PORT}`);
  });

  it('gives every app container the Postgres and Redis that compose runs, and migrates that same database first', () => {
    const postgres = services.postgres!.environment!;
    for (const name of ['api', 'worker', 'migrate']) {
      const db = new URL(environmentOf(services[name]!).DATABASE_URL!);
      expect(db.host, name).toBe('postgres:5432');
      expect(decodeURIComponent(db.username), name).toBe(postgres.POSTGRES_USER);
      expect(decodeURIComponent(db.password), name).toBe(postgres.POSTGRES_PASSWORD);
      expect(db.pathname, name).toBe(`/${postgres.POSTGRES_DB}`);
    }
    expect(new URL(loadConfig(environmentOf(services.worker!)).REDIS_URL).host).toBe('redis:6379');
    for (const name of ['api', 'worker']) expect(services[name]!.depends_on?.migrate?.condition).toBe('service_completed_successfully');
  });

  it('runs Redis without eviction, since an evicted queue key is a lost edit', () => {
    expect(services.redis!.command).toEqual(expect.arrayContaining(['--maxmemory-policy', 'noeviction']));
  });

  it('runs scripts that the build compiles from existing sources', () => {
    for (const [name, service] of appServices(services)) {
      if (!service.command) continue;
      expect(existsSync(path.join(REPO_ROOT, sourceOf(service.command))), name).toBe(true);
    }
  });
});

describe('docker-compose.yml with .env.example as .env', () => {
  const env = readDotenv('.env.example');
  const services = loadComposeServices(env);

  it('points the API and the worker at real PixelByte with an https public URL, and the server accepts it', () => {
    for (const name of ['api', 'worker']) {
      const config = loadConfig(environmentOf(services[name]!));
      expect(config.PIXELBYTE_API_URL).toBe('https://api.muvi.video');
      expect(config.PUBLIC_BASE_URL.startsWith('https://')).toBe(true);
      expect(config.API_KEYS).toEqual([env.API_KEYS]);
    }
  });

  it('refuses to start against real PixelByte with the simulator key or the default API key left in place', () => {
    const { PIXELBYTE_API_KEY: _key, API_KEYS: _keys, ...rest } = env;
    const api = environmentOf(loadComposeServices(rest).api!);
    expect(() => loadConfig(api)).toThrow(/PIXELBYTE_API_KEY/);
    expect(() => loadConfig(api)).toThrow(/API_KEYS/);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };

  it('builds on a Node LTS line that package.json engines allow', () => {
    const image = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(dockerfile);
    expect(image).not.toBeNull();
    const major = Number(image![1]);
    // Even-numbered Node majors become LTS; 20 reached its end of life in April 2026.
    expect(major % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(22);
    const minimum = Number(/>=\s*(\d+)/.exec(pkg.engines.node)![1]);
    expect(major).toBeGreaterThanOrEqual(minimum);
    for (const from of dockerfile.match(/^FROM .*/gm)!) expect(from).toMatch(/^FROM \$\{NODE_IMAGE\} AS \w+$/);
  });

  it('starts a compiled entry point that exists in src/', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
    expect(existsSync(path.join(REPO_ROOT, sourceOf(JSON.parse(cmd![1]!) as string[])))).toBe(true);
  });
});

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSimulatorConfig } from '../../simulator/config.js';
import { loadConfig } from '../../src/config.js';
import { type ComposeService, environmentOf, loadComposeServices, REPO_ROOT, readDotenv } from '../helpers/compose.js';

// No Docker engine runs in CI, so these read docker-compose.yml and the Dockerfile the way the engine would and
// run our own config loaders over what each container would get: a compose file the server refuses fails here.

const appServices = (services: Record<string, ComposeService>) => Object.entries(services).filter(([, s]) => s.build !== undefined);

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  scripts: Record<string, string>;
  bin: Record<string, string>;
};

/** An npm script that compiles: `tsc -p <tsconfig>` turns rootDir's sources into outDir's scripts (paths from the repository root). */
interface Build {
  script: string;
  rootDir: string;
  outDir: string;
}

function readJsonc(file: string): { compilerOptions: { rootDir: string; outDir: string } } {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, file), 'utf8').replace(/^\s*\/\/.*$/gm, ''));
}

const builds: Build[] = Object.entries(pkg.scripts).flatMap(([script, line]) => {
  const tsconfig = /\btsc -p (\S+)/.exec(line)?.[1];
  if (!tsconfig) return [];
  const { rootDir, outDir } = readJsonc(tsconfig).compilerOptions;
  const dir = path.dirname(tsconfig);
  return [{ script, rootDir: path.join(dir, rootDir), outDir: path.join(dir, outDir) }];
});

/** `node <outDir>/x/y.js` in the image is `<rootDir>/x/y.ts` compiled by one of the npm builds; the source must exist. */
function sourceOf(command: string[]): { build: Build; source: string } {
  for (const arg of command) {
    const build = builds.find((b) => arg.startsWith(`${b.outDir}/`) && arg.endsWith('.js'));
    if (build) return { build, source: path.join(build.rootDir, arg.slice(build.outDir.length + 1).replace(/\.js$/, '.ts')) };
  }
  throw new Error(`no compiled script in ${command.join(' ')} (builds: ${builds.map((b) => b.outDir).join(', ')})`);
}

const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
/** The Dockerfile's lines per stage (`FROM … AS <name>`). */
const stages: Record<string, string[]> = {};
let stage: string[] | undefined;
for (const line of dockerfile.split('\n')) {
  const from = /^FROM \S+ AS (\w+)$/.exec(line);
  if (from) {
    stage = [];
    stages[from[1]!] = stage;
  } else stage?.push(line);
}

/** The image holds `build`'s output: the build stage copies its sources and runs it, the runtime stage copies what it made. */
function expectImageToContain(build: Build, what: string): void {
  expect(stages.build, what).toContain(`COPY ${build.rootDir} ./${build.rootDir}`);
  expect(
    stages.build!.some((line) => line.startsWith('RUN ') && new RegExp(`\\bnpm run ${build.script}(\\s|$)`).test(line)),
    `${what}: the build stage runs npm run ${build.script}`,
  ).toBe(true);
  expect(stages.runtime, what).toContain(`COPY --from=build /app/${build.outDir} ./${build.outDir}`);
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

  it('mirrors into the bundled MinIO: its bucket made at start, before the relay starts, with the key the relay uses', () => {
    const minio = services.minio!.environment!;
    const init = services['minio-init']!;
    for (const name of ['api', 'worker']) {
      const config = loadConfig(environmentOf(services[name]!));
      expect(new URL(config.STORAGE_S3_ENDPOINT!).host, name).toBe('minio:9000');
      expect(config.STORAGE_S3_FORCE_PATH_STYLE, name).toBe(true);
      expect(config.STORAGE_S3_ACCESS_KEY_ID, name).toBe(minio.MINIO_ROOT_USER);
      expect(config.STORAGE_S3_SECRET_ACCESS_KEY, name).toBe(minio.MINIO_ROOT_PASSWORD);
      expect(config.STORAGE_S3_BUCKET, name).toBe(init.environment!.BUCKET);
      // Links a browser on the host opens, and the simulator's outputs on the stack's own network.
      expect(new URL(config.STORAGE_S3_PUBLIC_ENDPOINT!).host, name).toBe(`localhost:${services.minio!.ports![0]!.split(':')[0]}`);
      expect(config.OUTPUT_FETCH_ALLOW_PRIVATE, name).toBe(true);
      expect(services[name]!.depends_on?.['minio-init']?.condition, name).toBe('service_completed_successfully');
    }
    expect(init.depends_on?.minio?.condition).toBe('service_healthy');
    expect(init.entrypoint!.join(' ')).toMatch(/mc mb --ignore-existing/);
    expect(init.environment!.MINIO_ROOT_USER).toBe(minio.MINIO_ROOT_USER);
    expect(new URL(loadSimulatorConfig(environmentOf(services.simulator!)).SIMULATOR_PUBLIC_URL!).host).toBe('simulator:4010');
  });

  it('runs Redis without eviction, since an evicted queue key is a lost edit', () => {
    expect(services.redis!.command).toEqual(expect.arrayContaining(['--maxmemory-policy', 'noeviction']));
  });

  it('runs scripts that the image builds from existing sources', () => {
    const commands = appServices(services).filter(([, service]) => service.command);
    expect(commands.map(([name]) => name)).toEqual(expect.arrayContaining(['migrate', 'simulator']));
    for (const [name, service] of commands) {
      const { build, source } = sourceOf(service.command!);
      expect(existsSync(path.join(REPO_ROOT, source)), `${name}: ${source}`).toBe(true);
      expectImageToContain(build, name);
    }
  });

  it('runs the simulator from its own build, not from the product in dist/', () => {
    const { build, source } = sourceOf(services.simulator!.command!);
    expect(source).toBe('simulator/main.ts');
    expect(build.outDir).not.toBe('dist');
    expect(builds.find((b) => b.script === 'build')).toMatchObject({ rootDir: 'src', outDir: 'dist' });
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

  it('mirrors nothing until the .env names a bucket of its own', () => {
    for (const name of ['api', 'worker']) expect(loadConfig(environmentOf(services[name]!)).STORAGE_S3_BUCKET, name).toBeUndefined();
  });

  it('refuses to start against real PixelByte with the simulator key or the default API key left in place', () => {
    const { PIXELBYTE_API_KEY: _key, API_KEYS: _keys, ...rest } = env;
    const api = environmentOf(loadComposeServices(rest).api!);
    expect(() => loadConfig(api)).toThrow(/PIXELBYTE_API_KEY/);
    expect(() => loadConfig(api)).toThrow(/API_KEYS/);
  });
});

describe('Dockerfile', () => {
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

  it('starts a compiled entry point of the product that exists in src/', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
    const { build, source } = sourceOf(JSON.parse(cmd![1]!) as string[]);
    expect(build.rootDir).toBe('src');
    expect(existsSync(path.join(REPO_ROOT, source))).toBe(true);
    expectImageToContain(build, 'CMD');
  });

  it('holds the CLI that README.md tells operators to run in the image, the one package.json names as its bin', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const command = /docker compose exec api (node \S+)/.exec(readme)?.[1]?.split(' ');
    expect(command).toBeDefined();
    const { build, source } = sourceOf(command!);
    expect(source).toBe('src/cli/pixelrelay.ts');
    expectImageToContain(build, 'the CLI');
    expect(pkg.bin.pixelrelay).toBe(command![1]);
  });

  it('copies what npm ci runs (the postinstall script) before it', () => {
    const postinstall = /^node (\S+)$/.exec(pkg.scripts.postinstall!)?.[1];
    expect(postinstall).toBeDefined();
    const npmCi = stages.build!.findIndex((line) => /^RUN npm ci\b/.test(line));
    const copied = stages.build!.slice(0, npmCi).some((line) => {
      const from = /^COPY (\S+) \.\/(\S*)$/.exec(line);
      return from !== null && (postinstall === from[1] || postinstall!.startsWith(`${from[1]}/`));
    });
    expect(copied, `${postinstall} is copied before npm ci`).toBe(true);
  });
});

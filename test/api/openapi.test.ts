import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { validate } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { RouteOptions } from 'fastify';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { acceptedEditExample, completedEditExample } from '../../src/api/openapi/examples.js';
import { DOCS_PREFIX } from '../../src/api/plugins/openapi.js';
import { QUEUE_DASHBOARD_PATH } from '../../src/api/plugins/queueDashboard.js';
import { editResource } from '../../src/engine/editResource.js';
import { ERROR_CODES } from '../../src/errorCatalog.js';
import { appRoutesAndDocument } from '../helpers/appRoutes.js';
import { TEST_ADMIN_TOKEN } from '../helpers/clients.js';
import { startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema: object; examples?: Record<string, { value: unknown }> }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: object; examples?: Record<string, { value: unknown }> }> }>;
  'x-error-codes'?: { status: number; code: string; when: string }[];
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  tags: { name: string; description: string }[];
  components: { securitySchemes: Record<string, { type: string; scheme?: string; in?: string; name?: string }> };
}

let t: TestRelay;
let stop: () => Promise<void>;
let document: Document;

beforeAll(async () => {
  // ADMIN_TOKEN set: the admin routes exist only then, and must be documented too.
  ({ t, stop } = await startRelayWithSimulator({ ADMIN_TOKEN: TEST_ADMIN_TOKEN }, { pendingMs: 100, processingMs: 200 }));
  const res = await fetch(`${t.relay.url}${DOCS_PREFIX}/json`);
  expect(res.status).toBe(200);
  document = (await res.json()) as Document;
});
afterAll(() => stop?.());

const operations = () => Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));

/** Fastify's `/v1/edits/:id` as OpenAPI writes it; the models wildcard is documented as `{slug}`. */
const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{slug}');
const isHidden = (route: RouteOptions) => (route.schema as { hide?: boolean } | undefined)?.hide === true;

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document, by @readme/openapi-parser', async () => {
    expect(document.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(document) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
  });

  it('is served as YAML too, the same document', async () => {
    const res = await fetch(`${t.relay.url}${DOCS_PREFIX}/yaml`);
    expect(res.status).toBe(200);
    expect(parseYaml(await res.text())).toEqual(document);
  });

  it('documents every route the app registers; only the reference itself, the queue dashboard and the console are hidden', async () => {
    const { routes } = await appRoutesAndDocument(t.config);
    const hidden = routes.filter(isHidden).map((r) => r.url);
    const ownPages = [DOCS_PREFIX, QUEUE_DASHBOARD_PATH, '/console'];
    expect(hidden.filter((url) => !ownPages.some((prefix) => url.startsWith(prefix)))).toEqual([]);
    const visible = routes.filter((r) => !isHidden(r));
    expect(visible.length).toBeGreaterThanOrEqual(20);
    for (const route of visible) {
      for (const method of [route.method].flat().filter((m) => m !== 'HEAD')) {
        expect(document.paths[openapiPath(route.url)]?.[method.toLowerCase()], `${method} ${route.url}`).toBeDefined();
      }
    }
    expect(operations().length).toBe(visible.length);
  });

  it('gives every operation a unique operationId, a summary and a described tag, its error codes and a security requirement where one applies', () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const tags = document.tags.map((tag) => tag.name);
    for (const { path, method, op } of operations()) {
      const name = `${method} ${path}`;
      expect(op.summary, name).toBeTruthy();
      expect(op.tags, name).toHaveLength(1);
      expect(tags, name).toContain(op.tags![0]);
      expect(op['x-error-codes']!.length, name).toBeGreaterThan(0);
      for (const { status, code } of op['x-error-codes']!) {
        const response = op.responses[String(status)];
        expect(response, `${name} ${status}`).toBeDefined();
        expect((response!.content!['application/json']!.schema as { properties: { code: { enum: string[] } } }).properties.code.enum, name).toContain(code);
      }
      const security = (op.security ?? []).flatMap((s) => Object.keys(s));
      if (path.startsWith('/v1/')) expect(security, name).toEqual(['apiKey']);
      if (path.startsWith('/admin/')) expect(security, name).toEqual(['adminToken']);
      if (path.startsWith('/webhooks/')) expect(security, name).toEqual(['pixelbyteSignature']);
    }
    expect(document.components.securitySchemes).toMatchObject({
      apiKey: { type: 'http', scheme: 'bearer' },
      pixelbyteSignature: { type: 'apiKey', in: 'header', name: 'X-PixelByte-Signature' },
      metricsToken: { type: 'http', scheme: 'bearer' },
    });
  });

  it('lists every error code the source can answer with on some operation (its status comes from the catalog, by type)', () => {
    const thrown = new Set<string>();
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? (name === 'generated' || name === 'simulator' ? [] : walk(path)) : path.endsWith('.ts') ? [path] : [];
      });
    for (const file of walk('src')) {
      const text = readFileSync(file, 'utf8');
      // `new AppError('EDIT_NOT_FOUND'` and the tables of Fastify's and node's errors: `['PAYLOAD_TOO_LARGE', '…'`.
      for (const m of text.matchAll(/(?:new AppError\(|[A-Z_]+: \[)'([A-Z_]+)', /g)) thrown.add(m[1]!);
    }
    expect(thrown.size).toBeGreaterThan(25);
    const listed = new Set(operations().flatMap(({ op }) => op['x-error-codes']!.map((e) => e.code)));
    for (const code of thrown) {
      expect(ERROR_CODES[code as keyof typeof ERROR_CODES], code).toBeDefined();
      // A path that is no route has no operation to name it: the 4XX answer of each says so.
      if (code !== 'ROUTE_NOT_FOUND') expect(listed.has(code), code).toBe(true);
    }
  });

  it('documents the upload’s body per content type: multipart/form-data with a binary `file`, or the image itself', () => {
    const op = document.paths['/v1/uploads']!.post!;
    const content = op.requestBody!.content;
    expect(Object.keys(content)).toEqual(['multipart/form-data', 'image/jpeg', 'image/png', 'image/webp', 'image/gif']);
    expect(content['multipart/form-data']!.schema).toMatchObject({
      type: 'object',
      properties: { file: { type: 'string', format: 'binary' } },
      required: ['file'],
    });
    expect(content['image/png']!.schema).toMatchObject({ type: 'string', format: 'binary' });
    // It reads no JSON, so it meets none of a JSON body's errors; it names its own.
    const codes = op['x-error-codes']!.map((e) => e.code);
    expect(codes).toEqual(expect.arrayContaining(['FILE_TOO_LARGE', 'FILE_EMPTY', 'UNSUPPORTED_MEDIA_TYPE', 'INVALID_MULTIPART', 'UPSTREAM_UNAVAILABLE']));
    expect(codes).not.toContain('INVALID_JSON');
    expect(codes).not.toContain('INVALID_UTF8');
    expect(Object.keys(op.responses)).toContain('201');
  });

  it('documents an edit’s private images: upload:<id> and data: URLs, their limits and the codes they answer', () => {
    const op = document.paths['/v1/edits']!.post!;
    expect(op.description).toMatch(/`upload:<id>`/);
    expect(op.description).toMatch(/`data:image\/…;base64,` URL \(at most INLINE_IMAGE_MAX_BYTES decoded; the body at most EDIT_BODY_LIMIT_BYTES\)/);
    const codes = op['x-error-codes']!.map((e) => e.code);
    expect(codes).toEqual(
      expect.arrayContaining([
        'UNKNOWN_UPLOAD',
        'UPLOAD_EXPIRED',
        'FILE_TOO_LARGE',
        'FILE_EMPTY',
        'UNSUPPORTED_MEDIA_TYPE',
        'PAYLOAD_TOO_LARGE',
        'UPSTREAM_UNAVAILABLE',
      ]),
    );
    const tooLarge = op['x-error-codes']!.find((e) => e.code === 'FILE_TOO_LARGE');
    expect(tooLarge).toMatchObject({ status: 413, when: expect.stringContaining('INLINE_IMAGE_MAX_BYTES') });
    expect(document.paths['/v1/edits/estimate']!.post!.description).toMatch(/data: URLs \(not decoded\)/);
  });

  it('documents Prefer and Preference-Applied on POST and GET /v1/edits, and both event streams with their events', () => {
    type Documented = Operation & {
      parameters?: { in: string; name: string }[];
      responses: Record<
        string,
        { headers?: Record<string, { description: string }>; content?: Record<string, { 'x-events'?: { event: string; data: object }[] }> }
      >;
    };
    const post = document.paths['/v1/edits']!.post! as Documented;
    const get = document.paths['/v1/edits/{id}']!.get! as Documented;
    for (const op of [post, get]) expect(op.parameters!.filter((p) => p.in === 'header').map((p) => p.name)).toContain('prefer');
    expect(Object.keys(post.responses['201']!.headers!)).toContain('preference-applied');
    expect(Object.keys(post.responses['202']!.headers!)).toEqual(expect.arrayContaining(['preference-applied', 'location']));
    expect(Object.keys(get.responses['200']!.headers!)).toEqual(['preference-applied']);

    for (const path of ['/v1/edits/{id}/events', '/v1/events']) {
      const op = document.paths[path]!.get! as Documented;
      expect(
        op.parameters!.map((p) => p.name),
        path,
      ).toContain('last-event-id');
      const stream = op.responses['200']!.content!['text/event-stream']!;
      const events = stream['x-events']!;
      expect(
        events.map((e) => e.event),
        path,
      ).toEqual(['status', 'ping', 'error']);
      expect(events[0]!.data, path).toMatchObject({ type: 'object', properties: { id: { type: 'string' }, status: {} } });
      expect(events[2]!.data, path).toMatchObject({ properties: { code: { type: 'string' }, message: { type: 'string' } } });
    }
  });

  it('carries examples from the README session that match their own schemas', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    let checked = 0;
    for (const { path, method, op } of operations()) {
      const media = [op.requestBody?.content['application/json'], ...Object.values(op.responses).map((r) => r.content?.['application/json'])];
      for (const m of media) {
        for (const [name, { value }] of Object.entries(m?.examples ?? {})) {
          expect(ajv.validate(m!.schema, value), `${method} ${path} ${name}: ${JSON.stringify(ajv.errors)}`).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
    expect(document.paths['/v1/edits']!.post!.requestBody!.content['application/json']!.examples!.example!.value).toEqual({
      input: { prompt: 'Replace the background with a tropical beach at sunset', image_urls: ['https://example.com/photo.jpg'], num_images: 2 },
    });
    // The edits the examples show are what the API's own schema serializes.
    expect(editResource.parse(acceptedEditExample)).toEqual(acceptedEditExample);
    expect(editResource.parse(completedEditExample)).toEqual(completedEditExample);
  });

  it('the estimate example is what the estimate answers for the session’s body', async () => {
    const op = document.paths['/v1/edits/estimate']!.post!;
    const body = op.requestBody!.content['application/json']!.examples!.example!.value;
    const res = await fetch(`${t.relay.url}/v1/edits/estimate`, {
      method: 'POST',
      headers: { ...t.auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(await res.json()).toEqual(op.responses['200']!.content!['application/json']!.examples!.example!.value);
  });
});

describe('the interactive reference at /docs', () => {
  it('is where GET / points, with the document it serves', async () => {
    const res = await fetch(`${t.relay.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const index = (await res.json()) as { name: string; docs: string; openapi: string; console: string };
    expect(index).toEqual({ name: 'pixelrelay', docs: DOCS_PREFIX, openapi: `${DOCS_PREFIX}/json`, console: '/console/' });
    const page = await fetch(new URL(index.docs, res.url));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await (await fetch(new URL(index.openapi, res.url))).json()).toEqual(document);
    // Open like the health checks: no credentials asked.
    expect(document.paths['/']!.get!.security).toBeUndefined();
  });

  it('is served entirely by this process: no script or stylesheet from another origin', async () => {
    for (const url of [DOCS_PREFIX, `${DOCS_PREFIX}/`]) {
      const page = await fetch(`${t.relay.url}${url}`);
      expect(page.status, url).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      const html = await page.text();
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(assets.length).toBeGreaterThan(2);
      expect(assets.filter((a) => /^(https?:)?\/\//.test(a))).toEqual([]);
      for (const asset of assets) {
        const res = await fetch(new URL(asset, page.url));
        expect(res.status, asset).toBe(200);
      }
    }
    // The page loads the document from this server, at the URL documented.
    const init = await (await fetch(`${t.relay.url}${DOCS_PREFIX}/static/swagger-initializer.js`)).text();
    expect(init).toContain('json');
  });
});

// The driver a client team would write: typed by openapi-typescript's output, run with openapi-fetch.
const DRIVER = `
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

export async function runEdit(baseUrl: string, apiKey: string) {
  const client = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${apiKey}\` } });
  const model = await client.GET('/v1/models/{slug}', { params: { path: { slug: 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image' } } });
  if (!model.data) throw new Error(\`GET /v1/models/{slug}: \${JSON.stringify(model.error)}\`);
  const body = { model: model.data.slug, input: { prompt: 'Replace the background with a tropical beach at sunset', image_urls: ['https://example.com/photo.jpg'], num_images: 2 } };
  const estimate = await client.POST('/v1/edits/estimate', { body });
  if (!estimate.data) throw new Error(\`estimate: \${JSON.stringify(estimate.error)}\`);
  const created = await client.POST('/v1/edits', { body, params: { header: { 'idempotency-key': 'generated-client-1' } } });
  if (!created.data) throw new Error(\`create: \${JSON.stringify(created.error)}\`);
  const id: string = created.data.id;
  for (let i = 0; i < 300; i++) {
    const got = await client.GET('/v1/edits/{id}', { params: { path: { id }, query: { include: 'history' } } });
    if (!got.data) throw new Error(\`get: \${JSON.stringify(got.error)}\`);
    if (got.data.status === 'completed' || got.data.status === 'failed' || got.data.status === 'cancelled') {
      return { estimate: estimate.data.estimatedCostMicroCents, created: created.data.status, edit: got.data };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the edit did not finish');
}

export async function missingEdit(baseUrl: string, apiKey: string) {
  const client = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${apiKey}\` } });
  const got = await client.GET('/v1/edits/{id}', { params: { path: { id: '00000000-0000-4000-8000-000000000000' }, query: {} } });
  return { data: got.data, status: got.response.status, code: got.error?.code };
}

// Never called: the type checker must refuse each of these, or the generated types are not worth having.
export function refusedByTheTypes(client: ReturnType<typeof createClient<paths>>) {
  // @ts-expect-error: \`input\` is required
  void client.POST('/v1/edits', { body: { model: 'x' } });
  // @ts-expect-error: no such route
  void client.GET('/v1/nothing');
  // @ts-expect-error: an edit's status is one of seven
  const status: Awaited<ReturnType<typeof runEdit>>['edit']['status'] = 'done';
  return status;
}
`;

describe('a client generated from the document', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('type-checks (openapi-typescript + tsc) and completes an edit through openapi-fetch', async () => {
    dir = await mkdtemp(join(tmpdir(), 'pixelrelay-openapi-client-'));
    // The generated client resolves openapi-fetch as a client project would: from its own node_modules.
    await symlink(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'), 'dir');
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    await writeFile(join(dir, 'schema.d.ts'), astToString(await openapiTS(document as never)));
    await writeFile(join(dir, 'client.ts'), DRIVER);
    await mkdir(join(dir, 'out'));

    const program = ts.createProgram([join(dir, 'client.ts')], {
      strict: true,
      noUncheckedIndexedAccess: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      skipLibCheck: true,
      types: [],
      lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
      outDir: join(dir, 'out'),
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
    expect(program.emit().emitSkipped).toBe(false);

    const client = (await import(pathToFileURL(join(dir, 'out', 'client.js')).href)) as {
      runEdit(
        baseUrl: string,
        apiKey: string,
      ): Promise<{ estimate: number; created: string; edit: { status: string; outputs: unknown[]; costMicroCents: number } }>;
      missingEdit(baseUrl: string, apiKey: string): Promise<{ data: unknown; status: number; code: string }>;
    };
    const result = await client.runEdit(t.relay.url!, t.apiKey);
    expect(result).toMatchObject({ estimate: 90_000, created: 'queued', edit: { status: 'completed', costMicroCents: 90_000 } });
    expect(result.edit.outputs).toHaveLength(2);
    expect(await client.missingEdit(t.relay.url!, t.apiKey)).toEqual({ data: undefined, status: 404, code: 'EDIT_NOT_FOUND' });
  });
});

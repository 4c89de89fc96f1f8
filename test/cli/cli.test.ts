import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { downloadOutputs } from '../../src/cli/pixelrelayFiles.js';
import { TEST_ADMIN_TOKEN } from '../helpers/clients.js';
import { submitsFor } from '../helpers/edits.js';
import { openEventStream } from '../helpers/eventStream.js';
import { JPEG, PNG } from '../helpers/images.js';
import { freePort, startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let simUrl: string;
let sim: Simulator;
let t: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ simUrl, sim, t, stop } = await startRelayWithSimulator({ ADMIN_TOKEN: TEST_ADMIN_TOKEN }, { pendingMs: 200, processingMs: 300 }));
});
afterAll(() => stop?.());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command args…` in the checkout with exactly `env` (no TTY: plain progress lines) and collects its output. */
function runInCheckout(command: string, args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `pixelrelay …` as a child process, as an operator runs it. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runInCheckout(process.execPath, ['--import', 'tsx', 'src/cli/pixelrelay.ts', ...args], {
    PATH: process.env.PATH,
    PIXELRELAY_URL: t.relay.url,
    ...env,
  });
}

/** The README's CLI example: each line a reader types (after `$ `) with the lines it prints. */
function readmeCliExample(): { command: string; output: string[] }[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /```console\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('### CLI')))![1]!;
  const steps: { command: string; output: string[] }[] = [];
  for (const line of block.trimEnd().split('\n')) {
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), output: [] });
    else steps.at(-1)?.output.push(line);
  }
  return steps;
}

/** Lines typed into a shell in the checkout, as a reader of the README types them: its alias line first. */
function asTheReadmeSays(lines: string[], env: Record<string, string> = {}): Promise<Run> {
  const alias = readmeCliExample().find((step) => step.command.startsWith('alias pixelrelay='));
  if (!alias) throw new Error("README.md's CLI example no longer defines `pixelrelay`");
  // A shell reading a script expands aliases only when asked to; an interactive one always does.
  return runInCheckout('bash', ['-O', 'expand_aliases', '-c', [alias.command, ...lines].join('\n')], {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...env,
  });
}

const admin = { PIXELRELAY_ADMIN_TOKEN: TEST_ADMIN_TOKEN };
const image = 'https://example.com/cat.jpg';

/** Creates a client with the CLI and returns its key. */
async function clientKey(name: string): Promise<string> {
  const run = await cli(['clients', 'create', '--name', name, '--json'], admin);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout).apiKey;
}

describe('the pixelrelay CLI', () => {
  it('creates a client, submits an edit with --wait, prints its output URLs and exits 0', async () => {
    const created = await cli(['clients', 'create', '--name', 'cli test', '--daily-budget', '5000000', '--rate-limit', '100'], admin);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^created client [0-9a-f-]{36} \(cli test\)$/m);
    expect(created.stdout).toContain('daily budget: $5.0000; rate limit: 100');
    const apiKey = /API key \(shown once; store it now\): (prk_live_\S+)/.exec(created.stdout)![1]!;

    const run = await cli(['edit', '--prompt', 'make it a watercolour', '--image', image, '--wait', '--interval', '100'], { PIXELRELAY_API_KEY: apiKey });

    expect(run.code, run.stderr).toBe(0);
    const urls = run.stdout.trim().split('\n');
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(url).toMatch(/^https?:\/\/\S+$/);
    // Piped, not a TTY: one plain line per status, ending with completed.
    const progress = run.stderr.trim().split('\n');
    expect(progress.at(-1)).toMatch(/^[0-9a-f-]{36} completed \d+\.\ds$/);
    expect(progress[0]).toMatch(/ (queued|submitting|submitted|processing) /);

    const id = progress.at(-1)!.split(' ')[0]!;
    const edit = await t.db.edit.findUniqueOrThrow({ where: { id } });
    expect(edit.status).toBe('completed');
    expect((edit.outputs as { url: string }[]).map((o) => o.url)).toEqual(urls);
  });

  it('edit --wait and status --follow follow the event stream: done at once, though a poll would wait a minute', async () => {
    const apiKey = await clientKey('cli stream');
    const started = Date.now();
    const run = await cli(['edit', '--prompt', 'make it a watercolour', '--image', image, '--wait', '--interval', '60000'], { PIXELRELAY_API_KEY: apiKey });
    expect(run.code, run.stderr).toBe(0);
    const progress = run.stderr.trim().split('\n');
    expect(progress.at(-1)).toMatch(/^[0-9a-f-]{36} completed \d+\.\ds$/);
    // One plain line per status the stream told (the first: the edit as the stream opened), none twice.
    const statuses = progress.map((line) => line.split(' ')[1]);
    expect(new Set(statuses).size).toBe(statuses.length);

    const submitted = await cli(['edit', '--prompt', 'and another', '--image', image, '--json'], { PIXELRELAY_API_KEY: apiKey });
    const { id } = JSON.parse(submitted.stdout);
    const followed = await cli(['status', id, '--follow', '--interval', '60000'], { PIXELRELAY_API_KEY: apiKey });
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toMatch(new RegExp(`^${id} completed `));
    expect(followed.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^${id} completed \\d+\\.\\ds$`));
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('status --follow falls back to polling when the stream cannot be had (past the client’s cap on streams)', async () => {
    const apiKey = await clientKey('cli fallback');
    const submitted = await cli(['edit', '--prompt', 'watch me', '--image', image, '--json'], { PIXELRELAY_API_KEY: apiKey });
    const { id } = JSON.parse(submitted.stdout);
    // WATCH_MAX_PER_CLIENT (20) streams of this client held open: the CLI's is refused 429.
    const held = await Promise.all(
      Array.from({ length: t.config.WATCH_MAX_PER_CLIENT }, () => openEventStream(`${t.relay.url}/v1/events`, { authorization: `Bearer ${apiKey}` })),
    );
    try {
      expect(held.map((h) => h.status)).toEqual(Array(t.config.WATCH_MAX_PER_CLIENT).fill(200));
      const followed = await cli(['status', id, '--follow', '--interval', '100'], { PIXELRELAY_API_KEY: apiKey });
      expect(followed.code, followed.stderr).toBe(0);
      expect(followed.stdout).toMatch(new RegExp(`^${id} completed `));
    } finally {
      for (const h of held) h.close();
    }
  });

  it('a failing edit exits 1 with the failure, from the API’s code and message', async () => {
    const apiKey = await clientKey('cli failing');
    // The simulator's control API, over HTTP as another process would drive it.
    const planned = await fetch(`${simUrl}/__sim/next-submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ behaviours: [{ kind: 'generation-failure' }] }),
    });
    expect(planned.status).toBe(200);

    const run = await cli(['edit', '--prompt', 'this one fails', '--image', image, '--wait', '--interval', '100'], { PIXELRELAY_API_KEY: apiKey });

    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^error: edit [0-9a-f-]{36} failed: GENERATION_FAILED: .+$/m);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('creates a client with its fair-share weight and queue limits', async () => {
    const run = await cli(['clients', 'create', '--name', 'weighted', '--weight', '2', '--max-concurrency', '3', '--max-queued', '40', '--json'], admin);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ weight: 2, maxConcurrency: 3, maxQueued: 40 });
  });

  it.each([
    [['edit', '--prompt', 'x', '--image', image, '--frobnicate'], /unknown option '--frobnicate'/, /Usage: pixelrelay edit \[options\]/],
    [['edit', '--image', image], /required option '--prompt <text>' not specified/, /Usage: pixelrelay edit/],
    [['clients', 'create', '--name', 'x', '--daily-budget', '-5'], /--daily-budget.*must be a whole number/, /Usage: pixelrelay clients create/],
    [['clients', 'create', '--name', 'x', '--rate-limit', '1.5'], /--rate-limit.*must be a whole number/, /Usage: pixelrelay clients create/],
    [['edit', '--prompt', 'x', '--image', image, '--param', 'novalue'], /--param.*must be key=value/, /Usage: pixelrelay edit/],
    [['teleport'], /unknown command 'teleport'/, /Usage: pixelrelay/],
    [['status'], /missing required argument 'editId'/, /Usage: pixelrelay status/],
  ])('bad usage %j exits 2 with a usage line', async (args, error, usage) => {
    const run = await cli(args as string[], admin);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(error);
    expect(run.stderr).toMatch(usage);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('--help exits 0 and never prints a key or token from the environment', async () => {
    const run = await cli(['--help'], { PIXELRELAY_API_KEY: 'prk_live_secret-in-env', PIXELRELAY_ADMIN_TOKEN: 'admin-secret-in-env' });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: pixelrelay \[options\] \[command\]/);
    expect(run.stdout + run.stderr).not.toMatch(/secret-in-env/);
  });

  it('without credentials exits 2 and says which variable to set', async () => {
    const noKey = await cli(['status', '00000000-0000-4000-8000-000000000000']);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/^error: no API key: set PIXELRELAY_API_KEY or pass --api-key\nUsage: pixelrelay status \[options\] <editId>$/m);
    const noToken = await cli(['clients', 'list']);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('PIXELRELAY_ADMIN_TOKEN');
  });

  it('API errors exit 1 with the code and message; an unreachable relay says so; never a stack trace', async () => {
    const apiKey = await clientKey('cli errors');
    const missing = await cli(['status', '00000000-0000-4000-8000-000000000000'], { PIXELRELAY_API_KEY: apiKey });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: EDIT_NOT_FOUND: No edit with id 00000000-0000-4000-8000-000000000000\n');

    const badKey = await cli(['usage'], { PIXELRELAY_API_KEY: 'prk_live_not-a-key' });
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(/^error: UNAUTHORIZED: /);

    const invalid = await cli(['usage', '--from', '2024-02-30'], { PIXELRELAY_API_KEY: apiKey });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^error: INVALID_INPUT: The query is invalid\n {2}from: is not a calendar day\n$/);

    const nobody = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await cli(['usage', '--url', nobody], { PIXELRELAY_API_KEY: apiKey });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toBe(`error: cannot reach pixelrelay at ${nobody}: connect ECONNREFUSED ${nobody.slice('http://'.length)}\n`);
    for (const run of [missing, badKey, invalid, unreachable]) expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('manages keys, lists clients, shows an edit, models, an estimate and usage, with --json everywhere', async () => {
    const created = JSON.parse((await cli(['clients', 'create', '--name', 'cli json', '--json'], admin)).stdout);
    const listed = await cli(['clients', 'list'], admin);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${created.id}\\s+cli json\\s+-\\s+-\\s+1$`, 'm'));
    const listedJson = JSON.parse((await cli(['clients', 'list', '--json'], admin)).stdout);
    expect(listedJson.clients.map((c: { id: string }) => c.id)).toContain(created.id);

    const key = JSON.parse((await cli(['keys', 'create', created.id, '--json'], admin)).stdout);
    expect(key.apiKey).toMatch(/^prk_live_/);
    const user = { PIXELRELAY_API_KEY: key.apiKey };

    const models = await cli(['models'], user);
    expect(models.code, models.stderr).toBe(0);
    expect(models.stdout).toContain('openai/gpt-image-1-mini/edit-image');
    expect(JSON.parse((await cli(['models', '--json'], user)).stdout).models.length).toBe(10);

    const estimate = await cli(
      ['estimate', '--model', 'pixelbyte-plus/pixel-image-1.0/image-to-image', '--prompt', 'x', '--image', image, '--param', 'num_images=2'],
      user,
    );
    expect(estimate.code, estimate.stderr).toBe(0);
    expect(estimate.stdout).toBe('pixelbyte-plus/pixel-image-1.0/image-to-image: $0.0600 (60000 micro-cents)\n');

    // A model that takes one image_url: the CLI asks the model's schema which field to send.
    const submitted = await cli(['edit', '--model', 'openai/gpt-image-1-mini/edit-image', '--prompt', 'x', '--image', image, '--json'], user);
    expect(submitted.code, submitted.stderr).toBe(0);
    const edit = JSON.parse(submitted.stdout);
    expect(edit.input).toMatchObject({ image_url: image });
    const twoImages = await cli(['edit', '--model', 'openai/gpt-image-1-mini/edit-image', '--prompt', 'x', '--image', image, image], user);
    expect(twoImages.code).toBe(2);
    expect(twoImages.stderr).toContain('edits exactly one image');

    const status = await cli(['status', edit.id], user);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^${edit.id} \\w+ openai/gpt-image-1-mini/edit-image$`, 'm'));
    expect(JSON.parse((await cli(['status', edit.id, '--json'], user)).stdout).id).toBe(edit.id);

    const usage = await cli(['usage', '--json'], user);
    expect(JSON.parse(usage.stdout).totals.edits).toBe(1);
    const usageTable = await cli(['usage'], user);
    expect(usageTable.stdout).toMatch(/^DAY\s+MODEL\s+EDITS\s+SPENT\s+PENDING$/m);

    const revoked = await cli(['keys', 'revoke', key.id], admin);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked key /);
    expect((await cli(['usage'], user)).code).toBe(1);
  });
});

describe('the pixelrelay CLI, run the way README.md says', () => {
  it('answers --help from a checkout with no build, and passes its exit codes through', async () => {
    const help = await asTheReadmeSays(['pixelrelay --help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: pixelrelay \[options\] \[command\]/);
    const badUsage = await asTheReadmeSays(['pixelrelay teleport']);
    expect(badUsage.code).toBe(2);
    expect(badUsage.stderr).toMatch(/^error: unknown command 'teleport'/);
  });

  it("prints the README's estimate exactly, and nothing but the CLI's output reaches stdout", async () => {
    const env = { PIXELRELAY_URL: t.relay.url!, PIXELRELAY_API_KEY: await clientKey('cli readme') };
    const estimate = readmeCliExample().find((step) => step.command.startsWith('pixelrelay estimate '))!;
    const run = await asTheReadmeSays([estimate.command], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${estimate.output.join('\n')}\n`);
    const models = await asTheReadmeSays(['pixelrelay models --json'], env);
    expect(models.code, models.stderr).toBe(0);
    expect(JSON.parse(models.stdout).models.length).toBe(10);
  });
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** A folder of the test's own, with `files` written in it. */
function folderWith(files: Record<string, Buffer> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pixelrelay-cli-'));
  for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(dir, name), bytes);
  return dir;
}

describe('the pixelrelay CLI with local images and downloads', () => {
  it('upload FILE prints upload:<id> and what the relay read from the bytes; --json the upload; a missing file exits 2', async () => {
    const user = { PIXELRELAY_API_KEY: await clientKey('cli upload') };
    const dir = folderWith({ 'photo.jpg': JPEG, 'no-extension': PNG });
    const run = await cli(['upload', path.join(dir, 'photo.jpg')], user);
    expect(run.code, run.stderr).toBe(0);
    const [reference, summary] = run.stdout.trim().split('\n');
    expect(reference).toMatch(/^upload:[0-9a-f-]{36}$/);
    expect(summary).toMatch(new RegExp(`^image/jpeg, ${JPEG.length} bytes, sha256 ${sha256(JPEG)}; PixelByte deletes it at \\S+$`));
    const row = await t.db.upload.findUniqueOrThrow({ where: { id: reference!.slice('upload:'.length) } });
    expect(row).toMatchObject({ contentType: 'image/jpeg', sha256: sha256(JPEG) });

    const json = JSON.parse((await cli(['upload', path.join(dir, 'no-extension'), '--json'], user)).stdout);
    expect(json).toMatchObject({ id: expect.any(String), contentType: 'image/png', bytes: PNG.length, sha256: sha256(PNG) });

    const missing = await cli(['upload', path.join(dir, 'nope.png')], user);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: .*nope\.png: no such file\nUsage: pixelrelay upload/);
    const notImage = await cli(['upload', path.join(dir, '..', path.basename(dir))], user);
    expect(notImage.code).toBe(2);
    const text = folderWith({ 'notes.png': Buffer.from('not an image') });
    const refused = await cli(['upload', path.join(text, 'notes.png')], user);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: UNSUPPORTED_MEDIA_TYPE: /);
  });

  it('edit --image FILE uploads it first, passes URLs through, and --out downloads every output, printing the paths', async () => {
    const user = { PIXELRELAY_API_KEY: await clientKey('cli out') };
    const dir = folderWith({ 'photo.png': PNG });
    const out = path.join(dir, 'results');
    const local = await cli(
      [
        'edit',
        '--prompt',
        'p',
        '--image',
        path.join(dir, 'photo.png'),
        image,
        '--param',
        'size=1K',
        '--param',
        'num_images=2',
        '--out',
        out,
        '--interval',
        '100',
      ],
      user,
    );
    expect(local.code, local.stderr).toBe(0);
    const uploaded = /^uploaded \S+photo\.png as upload:([0-9a-f-]{36})$/m.exec(local.stderr);
    expect(uploaded, local.stderr).not.toBeNull();
    const paths = local.stdout.trim().split('\n');
    const id = /([0-9a-f-]{36}) completed/.exec(local.stderr)![1]!;
    expect(paths).toEqual([path.join(out, `${id}-0.png`), path.join(out, `${id}-1.png`)]);
    expect(
      readdirSync(out)
        .filter((f) => f.startsWith(id))
        .sort(),
    ).toEqual([`${id}-0.png`, `${id}-1.png`]);

    // Each file is byte for byte what PixelByte serves; the edit named the upload, and PixelByte was sent its fileUrl.
    const edit = await t.db.edit.findUniqueOrThrow({ where: { id } });
    const outputs = edit.outputs as { url: string }[];
    for (const [n, output] of outputs.entries()) {
      const served = Buffer.from(await (await fetch(output.url)).arrayBuffer());
      expect(sha256(readFileSync(paths[n]!))).toBe(sha256(served));
    }
    expect((edit.input as { image_urls: string[] }).image_urls).toEqual([`upload:${uploaded![1]}`, image]);
    const upload = await t.db.upload.findUniqueOrThrow({ where: { id: uploaded![1]! } });
    expect((submitsFor(sim, id)[0]!.body as { input: { image_urls: string[] } }).input.image_urls).toEqual([upload.fileUrl, image]);
  });

  it('estimate --image FILE prices the edit without uploading the file; a missing one exits 2', async () => {
    const user = { PIXELRELAY_API_KEY: await clientKey('cli estimate file') };
    const dir = folderWith({ 'photo.png': PNG });
    const uploads = await t.db.upload.count();
    const run = await cli(['estimate', '--prompt', 'x', '--image', path.join(dir, 'photo.png'), '--param', 'num_images=2'], user);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/: \$0\.0900 \(90000 micro-cents\)$/m);
    expect(await t.db.upload.count()).toBe(uploads);
    const missing = await cli(['edit', '--prompt', 'x', '--image', path.join(dir, 'nope.png')], user);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.png: no such file, and not an http(s) URL, upload:<id> or data: URL');
  });

  it('--out exits 1 naming the output it could not download, and leaves no partial file', async () => {
    const user = { PIXELRELAY_API_KEY: await clientKey('cli out gone') };
    const out = folderWith();
    sim.configure({ outputTtlMs: 0 });
    try {
      const run = await cli(['edit', '--prompt', 'p', '--image', image, '--param', 'size=1K', '--out', out, '--interval', '100'], user);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^error: could not download output 0 from http:\/\/\S+: HTTP 404$/m);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(readdirSync(out)).toEqual([]);
    } finally {
      sim.configure({ outputTtlMs: undefined });
    }
  });

  it('downloads an output from its mirror when it has one, never sending a credential, and from its own URL when the mirror has none', async () => {
    const requests: { url?: string; authorization?: string }[] = [];
    const server = createServer((req, res) => {
      requests.push({ url: req.url, authorization: req.headers.authorization });
      if (req.url?.startsWith('/bucket/')) return res.writeHead(200, { 'content-type': 'image/webp' }).end(Buffer.from('mirrored bytes'));
      if (req.url === '/cdn/b.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const out = folderWith();
      const saved = await downloadOutputs(
        {
          id: 'edit-1',
          outputs: [
            { url: `${base}/cdn/a.png`, format: 'png', mirror: { key: 'k/0.webp', contentType: 'image/webp', url: `${base}/bucket/0.webp?X-Amz-Signature=x` } },
            { url: `${base}/cdn/b.png`, format: 'png', mirror: { error: { code: 'MIRROR_FAILED' } } },
          ],
        },
        out,
      );
      expect(saved).toEqual([path.join(out, 'edit-1-0.webp'), path.join(out, 'edit-1-1.png')]);
      expect(readFileSync(saved[0]!).toString()).toBe('mirrored bytes');
      expect(readFileSync(saved[1]!)).toEqual(PNG);
      expect(requests.map((r) => r.url)).toEqual(['/bucket/0.webp?X-Amz-Signature=x', '/cdn/b.png']);
      expect(requests.every((r) => r.authorization === undefined)).toBe(true);
    } finally {
      server.close();
    }
  });
});

import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ApiError, type Credentials, PixelRelayApi } from './pixelrelayApi.js';
import { checkIsFile, downloadOutputs, imagesForEdit, imagesForEstimate, uploadLocalFile } from './pixelrelayFiles.js';
import { followEdit } from './pixelrelayFollow.js';
import { dollars, printTable } from './pixelrelayFormat.js';
import type { EditView } from './pixelrelayWait.js';

/**
 * The commands of `pixelrelay`: the admin API and the client API from a terminal. Talks HTTP only (fetch), so it works against
 * any running relay. Exit codes: 0 done (an edit waited for completed), 1 failed (an API error, or the edit
 * failed or was cancelled), 2 bad usage. Errors are one line from the API's code and message, never a stack.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const DEFAULT_URL = 'http://127.0.0.1:3000';

/** A mistake in how the command was called: reported with the command's usage line, exit 2. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly command: Command,
  ) {
    super(message);
  }
}

/** The edit reached a status other than completed (or the wait ran out): exit 1, its message already printed. */
class EditNotCompleted extends Error {}

interface GlobalOptions {
  url: string;
  apiKey?: string;
  adminToken?: string;
  json: boolean;
}

interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

const nonNegativeInteger = (value: string) => {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return Number(value);
};
const positiveInteger = (value: string) => {
  const n = nonNegativeInteger(value);
  if (n === 0) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
};
/** `key=value`; the value is JSON when it reads as a number or boolean (`num_images=2`), else the text. */
const collectParam = (value: string, previous: [string, unknown][] = []) => {
  const eq = value.indexOf('=');
  if (eq < 1) throw new InvalidArgumentError('must be key=value');
  const raw = value.slice(eq + 1);
  let parsed: unknown = raw;
  if (/^(-?\d+(\.\d+)?|true|false)$/.test(raw)) parsed = JSON.parse(raw);
  return [...previous, [value.slice(0, eq), parsed] as [string, unknown]];
};

function usageLine(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return `Usage: ${names.join(' ')} ${command.usage()}`;
}

export function buildProgram(env: NodeJS.ProcessEnv, io: Io): Command {
  const program = new Command('pixelrelay')
    .description('Operate pixelrelay: clients and keys (admin token), models, estimates, edits and usage (API key)')
    .option('--url <url>', 'the relay, e.g. https://pixelrelay.internal (env PIXELRELAY_URL)', env.PIXELRELAY_URL || DEFAULT_URL)
    // Secrets are read from the environment below, not given as defaults: --help prints defaults.
    .option('--api-key <key>', 'a client API key (env PIXELRELAY_API_KEY)')
    .option('--admin-token <token>', 'ADMIN_TOKEN, for clients and keys (env PIXELRELAY_ADMIN_TOKEN)')
    .option('--json', 'print the API’s JSON answer, for scripts', false)
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError(true)
    .exitOverride();

  const context = (command: Command) => {
    const options = command.optsWithGlobals<GlobalOptions>();
    const api = new PixelRelayApi({ baseUrl: options.url });
    const apiKey = (): Credentials => {
      const token = options.apiKey || env.PIXELRELAY_API_KEY;
      if (!token) throw new UsageError('no API key: set PIXELRELAY_API_KEY or pass --api-key', command);
      return { token };
    };
    const admin = (): Credentials => {
      const token = options.adminToken || env.PIXELRELAY_ADMIN_TOKEN;
      if (!token) throw new UsageError('no admin token: set PIXELRELAY_ADMIN_TOKEN or pass --admin-token', command);
      return { token };
    };
    const print = (json: unknown, human: () => void) => (options.json ? io.stdout.write(`${JSON.stringify(json, null, 2)}\n`) : human());
    return { options, api, apiKey, admin, print };
  };
  const out = (line = '') => io.stdout.write(`${line}\n`);

  const clients = program.command('clients').description('clients of the relay, each with its own keys, budget and rate limit (admin)');
  clients
    .command('create')
    .description('create a client and its first API key (shown once)')
    .requiredOption('--name <name>', 'who the client is, e.g. the calling service')
    .option('--daily-budget <microCents>', 'spend cap per UTC day, in micro-cents (1,000,000 = $1)', nonNegativeInteger)
    .option('--rate-limit <perMinute>', 'requests per minute over all /v1 routes', positiveInteger)
    .option('--weight <n>', 'its share of the upstream slots against other busy clients (default 1)', positiveInteger)
    .option('--max-concurrency <n>', 'upstream slots it may hold at once', positiveInteger)
    .option('--max-queued <n>', 'edits it may have waiting; more get 429 QUEUE_FULL', positiveInteger)
    .action(
      async (
        opts: { name: string; dailyBudget?: number; rateLimit?: number; weight?: number; maxConcurrency?: number; maxQueued?: number },
        command: Command,
      ) => {
        const { api, admin, print } = context(command);
        const created = await api.request<{
          id: string;
          name: string;
          apiKey: string;
          dailyBudgetMicroCents: number | null;
          rateLimitPerMinute: number | null;
        }>('POST', '/admin/clients', admin(), {
          name: opts.name,
          dailyBudgetMicroCents: opts.dailyBudget,
          rateLimitPerMinute: opts.rateLimit,
          weight: opts.weight,
          maxConcurrency: opts.maxConcurrency,
          maxQueued: opts.maxQueued,
        });
        print(created, () => {
          out(`created client ${created.id} (${created.name})`);
          out(
            `daily budget: ${created.dailyBudgetMicroCents === null ? 'none' : dollars(created.dailyBudgetMicroCents)}; rate limit: ${created.rateLimitPerMinute ?? 'none'}`,
          );
          out(`API key (shown once; store it now): ${created.apiKey}`);
        });
      },
    );
  clients
    .command('list')
    .description('list clients with their limits and keys')
    .action(async (_opts: unknown, command: Command) => {
      const { api, admin, print } = context(command);
      type Row = { id: string; name: string; dailyBudgetMicroCents: number | null; rateLimitPerMinute: number | null; keys: { revokedAt: string | null }[] };
      const answer = await api.request<{ clients: Row[] }>('GET', '/admin/clients', admin());
      print(answer, () =>
        printTable(
          io.stdout,
          ['ID', 'NAME', 'DAILY BUDGET', 'RATE/MIN', 'LIVE KEYS'],
          answer.clients.map((c) => [
            c.id,
            c.name,
            c.dailyBudgetMicroCents === null ? '-' : dollars(c.dailyBudgetMicroCents),
            String(c.rateLimitPerMinute ?? '-'),
            String(c.keys.filter((k) => k.revokedAt === null).length),
          ]),
        ),
      );
    });

  const keys = program.command('keys').description('API keys of a client (admin)');
  keys
    .command('create')
    .description('issue another API key for a client (shown once)')
    .argument('<clientId>')
    .action(async (clientId: string, _opts: unknown, command: Command) => {
      const { api, admin, print } = context(command);
      const key = await api.request<{ id: string; prefix: string; apiKey: string }>('POST', `/admin/clients/${encodeURIComponent(clientId)}/keys`, admin());
      print(key, () => {
        out(`key ${key.id} (${key.prefix}…)`);
        out(`API key (shown once; store it now): ${key.apiKey}`);
      });
    });
  keys
    .command('revoke')
    .description('revoke an API key: refused from its next request on')
    .argument('<keyId>')
    .action(async (keyId: string, _opts: unknown, command: Command) => {
      const { api, admin, print } = context(command);
      const key = await api.request<{ id: string; prefix: string; revokedAt: string }>('DELETE', `/admin/keys/${encodeURIComponent(keyId)}`, admin());
      print(key, () => out(`revoked key ${key.id} (${key.prefix}…) at ${key.revokedAt}`));
    });

  program
    .command('models')
    .description('the edit models, with their prices')
    .action(async (_opts: unknown, command: Command) => {
      const { api, apiKey, print } = context(command);
      type Model = { slug: string; name: string; pricing: { rule: string }; typicalSeconds: number };
      const answer = await api.request<{ models: Model[] }>('GET', '/v1/models', apiKey());
      print(answer, () =>
        printTable(
          io.stdout,
          ['MODEL', 'NAME', 'PRICE', 'TYPICAL'],
          answer.models.map((m) => [m.slug, m.name, m.pricing.rule, `${m.typicalSeconds}s`]),
        ),
      );
    });

  const withEditOptions = (command: Command) =>
    command
      .option('--model <slug>', 'the model (default: the server’s default model)')
      .requiredOption('--prompt <text>', 'what to change')
      .requiredOption('--image <url...>', 'image(s) to edit: URLs, upload:<id>, data: URLs, or local files (uploaded first)')
      .option('--param <key=value>', 'another input field, e.g. size=1K or num_images=2 (repeatable)', collectParam);

  withEditOptions(program.command('estimate').description('price an edit without making it')).action(async (opts: EditOptions, command: Command) => {
    const { api, apiKey, print } = context(command);
    const credentials = apiKey();
    const images = await imagesForEstimate(opts.image, (message) => new UsageError(message, command));
    const body = await editBody(api, credentials, { ...opts, image: images }, command);
    const estimate = await api.request<{ model: string; estimatedCostMicroCents: number }>('POST', '/v1/edits/estimate', credentials, body);
    print(estimate, () => out(`${estimate.model}: ${dollars(estimate.estimatedCostMicroCents)} (${estimate.estimatedCostMicroCents} micro-cents)`));
  });

  withEditOptions(program.command('edit').description('submit an edit; with --wait, follow it and print its output URLs'))
    .option('--wait', 'wait until it completes or fails (exit 0 completed, 1 otherwise)', false)
    .option('--out <dir>', 'once it completes, download its outputs into DIR (from the mirror when there is one) and print their paths; implies --wait')
    .option('--timeout <seconds>', 'give up waiting after this long', positiveInteger, 600)
    .option('--interval <ms>', 'how often to ask while waiting, should the event stream fail', positiveInteger, 1_000)
    .option('--idempotency-key <key>', 'make a retried command safe: the same key returns the same edit')
    .option('--callback-url <url>', 'where the relay POSTs the finished edit')
    .action(
      async (
        opts: EditOptions & { wait: boolean; out?: string; timeout: number; interval: number; idempotencyKey?: string; callbackUrl?: string },
        command: Command,
      ) => {
        const { api, apiKey, print } = context(command);
        const credentials = apiKey();
        const body = { ...(await editBody(api, credentials, opts, command)), ...(opts.callbackUrl ? { callbackUrl: opts.callbackUrl } : {}) };
        await uploadLocalImages(api, credentials, body.input, command);
        const headers = opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : undefined;
        const accepted = await api.request<EditView>('POST', '/v1/edits', credentials, body, headers);
        if (!opts.wait && opts.out === undefined) {
          print(accepted, () => out(`${accepted.id} ${accepted.status} (estimated ${dollars(accepted.estimatedCostMicroCents)})`));
          return;
        }
        const edit = await followEdit(api, credentials, accepted.id, { intervalMs: opts.interval, timeoutMs: opts.timeout * 1000, progress: io.stderr });
        if (!edit) {
          io.stderr.write(`error: edit ${accepted.id} did not finish within ${opts.timeout}s; follow it with: pixelrelay status ${accepted.id}\n`);
          throw new EditNotCompleted();
        }
        const saved = edit.status === 'completed' && opts.out !== undefined ? await downloadOutputs(edit, opts.out) : undefined;
        print(edit, () => {
          if (edit.status === 'completed') for (const line of saved ?? edit.outputs.map((o) => o.url)) out(line);
        });
        if (edit.status !== 'completed') {
          io.stderr.write(`error: edit ${edit.id} ${edit.status}${edit.error ? `: ${edit.error.code}: ${edit.error.message}` : ''}\n`);
          throw new EditNotCompleted();
        }
      },
    );

  program
    .command('upload')
    .description('upload a local image (JPEG, PNG, WebP or GIF) for edits to name; prints upload:<id> (PixelByte keeps it 60 minutes)')
    .argument('<file>')
    .action(async (file: string, _opts: unknown, command: Command) => {
      const { api, apiKey, print } = context(command);
      const credentials = apiKey();
      await checkIsFile(file, (message) => new UsageError(message, command));
      const upload = await uploadLocalFile(api, credentials, file);
      print(upload, () => {
        out(`upload:${upload.id}`);
        out(`${upload.contentType}, ${upload.bytes} bytes, sha256 ${upload.sha256}; PixelByte deletes it at ${upload.expiresAt}`);
      });
    });

  /** The input's local files uploaded, and named upload:<id> in their place; each upload told on stderr. */
  async function uploadLocalImages(api: PixelRelayApi, credentials: Credentials, input: Record<string, unknown>, command: Command) {
    const field = 'image_url' in input ? 'image_url' : 'image_urls';
    const given = [input[field]].flat() as string[];
    const images = await imagesForEdit(
      api,
      credentials,
      given,
      (message) => new UsageError(message, command),
      (file, upload) => io.stderr.write(`uploaded ${file} as upload:${upload.id}\n`),
    );
    input[field] = field === 'image_url' ? images[0] : images;
  }

  program
    .command('status')
    .description('show an edit: its status, outputs or error; with --follow, once it is done')
    .argument('<editId>')
    .option('--follow', 'follow its status changes until it completes or fails (exit 0 completed, 1 otherwise)', false)
    .option('--timeout <seconds>', 'give up following after this long', positiveInteger, 600)
    .option('--interval <ms>', 'how often to ask while following, should the event stream fail', positiveInteger, 1_000)
    .action(async (id: string, opts: { follow: boolean; timeout: number; interval: number }, command: Command) => {
      const { api, apiKey, print } = context(command);
      const edit = opts.follow
        ? await followEdit(api, apiKey(), id, { intervalMs: opts.interval, timeoutMs: opts.timeout * 1000, progress: io.stderr })
        : await api.request<EditView>('GET', `/v1/edits/${encodeURIComponent(id)}`, apiKey());
      if (!edit) {
        io.stderr.write(`error: edit ${id} did not finish within ${opts.timeout}s\n`);
        throw new EditNotCompleted();
      }
      print(edit, () => {
        out(`${edit.id} ${edit.status} ${edit.model}`);
        out(`cost: ${edit.costMicroCents === null ? `estimated ${dollars(edit.estimatedCostMicroCents)}` : dollars(edit.costMicroCents)}`);
        if (edit.error) out(`error: ${edit.error.code}: ${edit.error.message}`);
        for (const output of edit.outputs) out(output.url);
      });
      if (opts.follow && edit.status !== 'completed') throw new EditNotCompleted();
    });

  program
    .command('usage')
    .description('your spend by UTC day and model')
    .option('--from <YYYY-MM-DD>', 'first day (default: 29 days before --to)')
    .option('--to <YYYY-MM-DD>', 'last day (default: today, UTC)')
    .action(async (opts: { from?: string; to?: string }, command: Command) => {
      const { api, apiKey, print } = context(command);
      const query = new URLSearchParams(Object.entries({ from: opts.from, to: opts.to }).filter((e): e is [string, string] => e[1] !== undefined));
      type Usage = {
        from: string;
        to: string;
        days: { day: string; model: string; edits: number; spentMicroCents: number; pendingMicroCents: number }[];
        totals: { edits: number; spentMicroCents: number; pendingMicroCents: number };
      };
      const usage = await api.request<Usage>('GET', `/v1/usage${query.size ? `?${query}` : ''}`, apiKey());
      print(usage, () => {
        printTable(
          io.stdout,
          ['DAY', 'MODEL', 'EDITS', 'SPENT', 'PENDING'],
          usage.days.map((d) => [d.day, d.model, String(d.edits), dollars(d.spentMicroCents), dollars(d.pendingMicroCents)]),
        );
        out(
          `${usage.from} … ${usage.to}: ${usage.totals.edits} edits, ${dollars(usage.totals.spentMicroCents)} spent, ${dollars(usage.totals.pendingMicroCents)} pending`,
        );
      });
    });

  return program;
}

interface EditOptions {
  model?: string;
  prompt: string;
  image: string[];
  param?: [string, unknown][];
}

/**
 * The body of POST /v1/edits. Models name their image field differently (`image_urls`, or `image_url` for one
 * image), so the model's own input schema from GET /v1/models decides; a relay without that route gets `image_urls`.
 */
async function editBody(api: PixelRelayApi, credentials: Credentials, opts: EditOptions, command: Command) {
  const input: Record<string, unknown> = { prompt: opts.prompt };
  let single = false;
  if (opts.model) {
    try {
      const model = await api.request<{ inputSchema?: { properties?: Record<string, unknown> } }>('GET', `/v1/models/${opts.model}`, credentials);
      single = model.inputSchema?.properties?.image_url !== undefined && model.inputSchema.properties.image_urls === undefined;
    } catch (err) {
      // An unknown model is the edit's to refuse (MODEL_NOT_SUPPORTED, with the list); an older relay has no route.
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
  }
  if (single && opts.image.length !== 1) throw new UsageError(`${opts.model} edits exactly one image: pass one --image`, command);
  if (single) input.image_url = opts.image[0];
  else input.image_urls = opts.image;
  for (const [key, value] of opts.param ?? []) input[key] = value;
  return { ...(opts.model ? { model: opts.model } : {}), input };
}

/** Runs the CLI; returns the exit code. Never throws: every failure becomes a message and a code. */
export async function runCli(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: Io = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const program = buildProgram(env, io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof UsageError) {
      io.stderr.write(`error: ${err.message}\n${usageLine(err.command)}\n`);
      return EXIT.usage;
    }
    if (err instanceof EditNotCompleted) return EXIT.failed;
    if (err instanceof ApiError) {
      io.stderr.write(`error: ${err.status === null ? '' : `${err.code}: `}${err.message}\n`);
      if (Array.isArray(err.details)) {
        for (const detail of err.details as { path?: unknown; message?: unknown }[]) io.stderr.write(`  ${String(detail.path)}: ${String(detail.message)}\n`);
      } else if (err.details !== undefined) {
        io.stderr.write(`  ${JSON.stringify(err.details)}\n`);
      }
      return EXIT.failed;
    }
    io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failed;
  }
}

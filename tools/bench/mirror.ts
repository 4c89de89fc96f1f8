/**
 * `npm run bench:mirror`: what mirroring one 4-image 2K edit costs the worker that does it, as the mirror does it
 * (engine/mirror/copyOutput.ts, the four outputs one after another): bytes/s, CPU per MB and peak RSS, over
 * `--edits N` edits (default 10). The CDN (the simulator, its images encoded and cached before the clock starts)
 * and the S3 server run in another process (mirrorInfra.ts), so the figures are the copier's own.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { OutputCopier } from '../../src/engine/mirror/copyOutput.js';
import { Bucket } from '../../src/storage/bucket.js';
import { S3RVER_CREDENTIALS } from '../../testkit/s3Server.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const i = process.argv.indexOf('--edits');
const EDITS = i > 0 ? Number(process.argv[i + 1]) : 10;
const MB = 1024 * 1024;
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

const infra = spawn(process.execPath, ['--import', 'tsx', 'tools/bench/mirrorInfra.ts'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
const first = await new Promise<string>((resolve) => createInterface({ input: infra.stdout! }).once('line', resolve));
const { simUrl, endpoint, bucket: bucketName } = JSON.parse(first) as { simUrl: string; endpoint: string; bucket: string };

// One 4-image 2K job: its four outputs are what every edit of the run copies (each to keys of its own).
const submit = await fetch(`${simUrl}/v1/jobs/submit`, {
  method: 'POST',
  headers: { authorization: 'Bearer pb_sim_key', 'content-type': 'application/json' },
  body: JSON.stringify({
    model: 'pixelbyte-plus/pixel-image-1.0-pro/image-to-image',
    input: { prompt: 'bench', image_urls: ['https://example.com/a.png'], num_images: '4', size: '2K' },
  }),
});
const { jobId } = (await submit.json()) as { jobId: string };
const urls = [0, 1, 2, 3].map((n) => `${simUrl}/outputs/${jobId}-${n}.png`);
for (;;) {
  const res = await fetch(urls[0]!);
  await res.arrayBuffer();
  if (res.status === 200) break;
  await new Promise((r) => setTimeout(r, 50));
}
for (const url of urls) await (await fetch(url)).arrayBuffer(); // encoded and cached now

const bucket = new Bucket({
  bucket: bucketName,
  endpoint,
  region: 'us-east-1',
  credentials: S3RVER_CREDENTIALS,
  forcePathStyle: true,
  prefix: 'bench/',
  urlTtlSeconds: 60,
});
const copier = new OutputCopier({ bucket, allowPrivate: true, maxBytes: 64 * MB, timeoutMs: 120_000 });

// One edit first, outside the clock: connections, JIT.
for (const [n, url] of urls.entries()) await copier.copy({ clientId: 'bench', editId: 'warm', index: n, url });

let peakRss = process.memoryUsage().rss;
const rssBefore = peakRss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 10);
const cpuBefore = process.cpuUsage();
const started = performance.now();
let bytes = 0;
const perEditMs: number[] = [];
for (let e = 0; e < EDITS; e++) {
  const t0 = performance.now();
  for (const [n, url] of urls.entries()) bytes += (await copier.copy({ clientId: 'bench', editId: `edit-${e}`, index: n, url })).bytes;
  perEditMs.push(performance.now() - t0);
}
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
clearInterval(sampler);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
perEditMs.sort((a, b) => a - b);

console.log(
  JSON.stringify(
    {
      edits: EDITS,
      outputsPerEdit: 4,
      mbPerEdit: round(bytes / EDITS / MB),
      mbPerSecond: round(bytes / MB / seconds),
      editMs: { p50: Math.round(perEditMs[Math.floor(EDITS / 2)]!), max: Math.round(perEditMs.at(-1)!) },
      cpuMsPerMb: round((cpuSeconds * 1000) / (bytes / MB), 2),
      rssMb: { before: round(rssBefore / MB), peak: round(peakRss / MB), growth: round((peakRss - rssBefore) / MB) },
    },
    null,
    2,
  ),
);

await copier.close();
bucket.close();
infra.stdin!.end();
await new Promise((resolve) => infra.once('exit', resolve));

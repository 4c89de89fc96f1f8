import type { FastifyInstance } from 'fastify';
import type { SimulatorContext } from '../context.js';
import { SimError } from '../errors.js';
import { encodeImage, ImageCache } from '../outputImages.js';
import type { SimJob } from '../types.js';

// A few 4K outputs or a few dozen 2K ones: enough that a test's or a relay's repeated downloads hit the cache.
const CACHE_BYTES = 128 * 1024 * 1024;
const THUMBNAIL_LONG_SIDE = 256;

// jobViews' URLs: `<jobId>-<n>.png` and `<jobId>-<n>-thumb.png`. Job ids may hold '-', so the index is the last number.
const OUTPUT_FILE = /^([\w-]+)-(0|[1-9]\d*)(-thumb)?\.png$/;

const notFound = (message: string) => new SimError(404, 'NOT_FOUND', message);

function thumbnailSize(job: SimJob): { width: number; height: number } {
  const scale = Math.min(1, THUMBNAIL_LONG_SIDE / Math.max(job.width, job.height));
  return { width: Math.max(1, Math.round(job.width * scale)), height: Math.max(1, Math.round(job.height * scale)) };
}

/**
 * Stands in for PixelByte's CDN: a completed job's outputs and thumbnails are PNGs of the job's size, the same bytes
 * on every fetch, until the output TTL (switch, else option) has passed since the job completed.
 */
export function outputRoutes(ctx: SimulatorContext) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const cache = new ImageCache(CACHE_BYTES);
    app.addHook('onClose', async () => cache.clear());

    // HEAD comes from Fastify's automatic HEAD route: this handler runs and only the body is dropped.
    app.get<{ Params: { file: string } }>('/outputs/:file', async (request, reply) => {
      const match = OUTPUT_FILE.exec(request.params.file);
      if (!match) throw notFound('No such output');
      const [, jobId, n, thumb] = match;
      const job = ctx.store.jobs.get(jobId!);
      const index = Number(n);
      if (job?.status !== 'completed' || !job.completedAt || index >= job.outputCount) throw notFound('No such output');

      const ttlMs = ctx.faults.switches.outputTtlMs ?? ctx.options.outputTtlMs;
      const leftMs = ttlMs === undefined ? undefined : job.completedAt.getTime() + ttlMs - Date.now();
      if (leftMs !== undefined && leftMs <= 0) throw notFound('Output expired');

      const thumbnail = thumb !== undefined;
      const { width, height } = thumbnail ? thumbnailSize(job) : job;
      const seed = `${job.jobId}/${index}`;
      // The thumbnail shares its output's seed, so it looks like a small copy of it.
      const image = await cache.get(`${seed}${thumbnail ? '/thumb' : ''}`, () => encodeImage(seed, width, height));

      reply
        .type('image/png')
        .header('etag', image.etag)
        .header('cache-control', leftMs === undefined ? 'public, max-age=31536000, immutable' : `public, max-age=${Math.floor(leftMs / 1000)}`);
      if (ifNoneMatch(request.headers['if-none-match'], image.etag)) return reply.code(304).send();
      return reply.header('content-length', image.body.length).send(image.body);
    });
  };
}

function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed === etag || trimmed === `W/${etag}`;
  });
}

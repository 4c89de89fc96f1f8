import { type Context, post, waitTerminal } from '../context.js';
import type { PostRun } from '../load.js';

/** Warm-up: JIT, connection pools, prepared statements. Not measured. */
export async function warmUp(ctx: Context, amount: number): Promise<PostRun> {
  await ctx.upstream.send({ cmd: 'phase', phase: 'warmup' });
  const warm = await post(ctx, amount);
  await waitTerminal(ctx.db, warm.accepted, 'warm-up');
  return warm;
}

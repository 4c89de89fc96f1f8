/**
 * The mirror bench's infrastructure, in a process of its own so that its CPU and memory are not the copier's: the
 * PixelByte simulator (the CDN serving real PNGs) and a local S3 server. Prints one JSON line, then serves until
 * its stdin closes.
 */
import { createSimulator } from '../../simulator/index.js';
import { startLocalS3 } from '../../testkit/s3Server.js';

const sim = createSimulator({ pendingMs: 0, processingMs: 0, logger: false });
const simUrl = await sim.listen(0, '127.0.0.1');
const s3 = await startLocalS3({ bucket: 'pixelrelay-bench' });
process.stdout.write(`${JSON.stringify({ simUrl, endpoint: s3.endpoint, bucket: s3.bucket })}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await sim.close();
  await s3.close();
  process.exit(0);
});

import type { Bucket } from '../../storage/bucket.js';
import type { ShownOutput } from '../editResource.js';

/**
 * Gives each stored output of an edit, as it is shown, a presigned GET of its copy: signed on every read (no request
 * to the store, only a signature), so a link is always good for STORAGE_URL_TTL_SECONDS from when it was read.
 */
export class OutputLinks {
  constructor(private readonly bucket: Pick<Bucket, 'presignGet'>) {}

  async sign<T extends { outputs: ShownOutput[] }>(resource: T): Promise<T> {
    if (!resource.outputs.some((o) => o.mirror && 'key' in o.mirror)) return resource;
    const outputs = await Promise.all(
      resource.outputs.map(async (o) =>
        o.mirror && 'key' in o.mirror ? { ...o, mirror: { ...o.mirror, url: await this.bucket.presignGet(o.mirror.key) } } : o,
      ),
    );
    return { ...resource, outputs };
  }
}

import { allModels, DEFAULT_MODEL } from '../../catalog/models.js';
import { toModelResource } from '../../catalog/resource.js';
import { estimateEdit } from '../../engine/accept/estimate.js';
import type { EditResource } from '../../engine/editResource.js';
import type { ErrorBody } from '../../errors.js';

/** Examples for the API reference, from the README's "A first session". Each is checked against its schema by a test. */

const EDIT_ID = '6f1c2b9e-4d3a-4f5e-9a7b-0c1d2e3f4a5b';
const JOB_ID = 'job_8Yb2kQ4mN7pR';
const PROMPT = 'Replace the background with a tropical beach at sunset';

export const createEditExample = {
  input: { prompt: PROMPT, image_urls: ['https://example.com/photo.jpg'], num_images: 2 },
};

const queued: EditResource = {
  id: EDIT_ID,
  status: 'queued',
  model: DEFAULT_MODEL,
  input: { prompt: PROMPT, image_urls: ['https://example.com/photo.jpg'], size: '2K', num_images: '2' },
  callbackUrl: null,
  metadata: null,
  upstream: { jobId: null, requestId: null, status: null },
  estimatedCompletionAt: null,
  estimatedCostMicroCents: 90_000,
  costMicroCents: null,
  outputs: [],
  error: null,
  createdAt: '2026-11-24T12:00:00.000Z',
  updatedAt: '2026-11-24T12:00:00.000Z',
  submittedAt: null,
  completedAt: null,
  priority: 'normal',
  deadline: null,
  deadlineMissed: false,
  callback: { status: 'none', attempts: 0, lastError: null, deliveredAt: null },
};
export const acceptedEditExample = queued;

export const completedEditExample: EditResource = {
  ...queued,
  status: 'completed',
  upstream: { jobId: JOB_ID, requestId: 'req_3Fh8sLq1', status: 'completed' },
  estimatedCompletionAt: '2026-11-24T12:00:31.000Z',
  costMicroCents: 90_000,
  outputs: [0, 1].map((i) => ({
    url: `http://127.0.0.1:4010/outputs/${JOB_ID}-${i}.png`,
    type: 'image',
    width: 2048,
    height: 2048,
    format: 'png',
    // With a storage bucket (STORAGE_S3_BUCKET): the copy, and a link to it signed on this read.
    mirror: {
      key: `key_3b1f0c2a9d4e5f60/${queued.id}/${i}.png`,
      bytes: 5_970_127,
      sha256: i === 0 ? '9f2c4b1e0d8a7c6b5a4938271605f4e3d2c1b0a99887766554433221100ffeed' : '1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f00f',
      contentType: 'image/png',
      storedAt: '2026-11-24T12:00:29.000Z',
      url: `https://my-bucket.s3.us-east-1.amazonaws.com/key_3b1f0c2a9d4e5f60/${queued.id}/${i}.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature=…`,
    },
  })),
  updatedAt: '2026-11-24T12:00:29.000Z',
  submittedAt: '2026-11-24T12:00:01.000Z',
  completedAt: '2026-11-24T12:00:29.000Z',
};

export const editPageExample = { edits: [completedEditExample], nextCursor: null };

/** Computed by the estimate itself, so the reference shows exactly what the API answers. */
export const estimateExample = () => estimateEdit(createEditExample);

export const modelExample = () => toModelResource(allModels()[0]!);
export const modelListExample = () => ({ models: allModels().map(toModelResource) });

/** PixelByte's own documented webhook body (../shared/pixelbyte-api.md, the signature test vector). */
export const pixelbyteWebhookExample = {
  jobId: 'job_abc123',
  requestId: 'req_xyz789',
  status: 'completed',
  output: { imageUrl: 'https://cdn.muvi.video/outputs/job_abc123.png' },
  completedAt: '2026-02-18T12:00:00.000Z',
};
export const webhookReceiptExample = { received: true, duplicate: false, applied: true };

export const invalidInputExample: ErrorBody = {
  statusCode: 400,
  code: 'INVALID_INPUT',
  error: 'Bad Request',
  message: `The input is invalid for ${DEFAULT_MODEL}`,
  details: [{ path: 'input.num_images', message: 'must be 1, 2, 3 or 4 (a number or a string)' }],
};

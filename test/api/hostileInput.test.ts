import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_DASHBOARD_PATH } from '../../src/api/plugins/queueDashboard.js';
import { webhookToken, webhookUrlKey } from '../../src/upstream/webhookUrl.js';
import { appRoutesAndDocument } from '../helpers/appRoutes.js';
import { adminHeaders, createClient, TEST_ADMIN_TOKEN } from '../helpers/clients.js';
import { dataUrl, JPEG, multipartBody, PNG, pngOfSize, uploadFile } from '../helpers/images.js';
import { startRelayWithSimulator, type TestRelay } from '../helpers/relay.js';
import { signedRawWebhook, signedWebhook, webhookPath } from '../helpers/webhooks.js';

// Bytes a client controls that Postgres, the stack or JSON cannot hold. Each must be refused with a 4xx and a
// stable code, store nothing and log nothing above warn (a 500 would log the customer's text at error level).

let t: TestRelay;
let stop: () => Promise<void>;

beforeAll(async () => {
  // API only: nothing here is ever submitted, and no worker logs in the background of the log assertions.
  // ADMIN_TOKEN set: the admin routes read JSON bodies too.
  ({ t, stop } = await startRelayWithSimulator({ ROLE: 'api', ADMIN_TOKEN: TEST_ADMIN_TOKEN }));
});
afterAll(() => stop?.());

/** Text no log line may contain: every hostile prompt carries it. */
const MARKER = 'HOSTILE-MARKER-7f3a';
const input = { prompt: `${MARKER} make the sky purple`, image_urls: ['https://example.com/a.jpg'] };

/** A POST /v1/edits body as JSON text. JSON.stringify writes U+0000 and lone surrogates as \u escapes, as a client would. */
const edit = (body: Record<string, unknown>) => JSON.stringify({ input, ...body });
/** Metadata whose value is spliced in as raw JSON text (1e400 cannot be written by JSON.stringify). */
const rawMetadata = (json: string) => `{"input":${JSON.stringify(input)},"metadata":${json}}`;
const nested = (depth: number, open: string, close: string) => `${open.repeat(depth)}1${close.repeat(depth)}`;
/** `json` with the bytes at `«»` replaced by `bytes`: text no UTF-8 encoder writes, as a careless client sends it. */
const withBytes = (json: string, bytes: number[]) => {
  const [before, after] = json.split('«»') as [string, string];
  return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
};
const cursorOf = (createdAt: string) => Buffer.from(JSON.stringify([createdAt, '00000000-0000-4000-8000-000000000000'])).toString('base64url');

interface Row {
  name: string;
  method?: 'POST' | 'GET';
  url?: string;
  /** A function for a body that needs the relay first (another client's upload). */
  body?: string | Buffer | (() => Promise<string>);
  /** application/json unless given; null sends none. */
  contentType?: string | null;
  status: number;
  code: string;
  /** For INVALID_INPUT: the details path that names the bad part. */
  path?: string | RegExp;
}

const rows: Row[] = [
  { name: 'U+0000 in the prompt', body: edit({ input: { ...input, prompt: `${MARKER} a\u0000b` } }), status: 400, code: 'INVALID_INPUT', path: 'input.prompt' },
  {
    name: 'a lone high surrogate in the prompt',
    body: edit({ input: { ...input, prompt: `${MARKER} a\ud800b` } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'input.prompt',
  },
  {
    name: 'a lone low surrogate ending the prompt',
    body: edit({ input: { ...input, prompt: `${MARKER} a\udc00` } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'input.prompt',
  },
  {
    name: 'U+0000 in an image URL',
    body: edit({ input: { ...input, image_urls: ['https://example.com/a\u0000.jpg'] } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'input.image_urls.0',
  },
  {
    name: 'a lone surrogate in an image URL',
    body: edit({ input: { ...input, image_urls: ['https://example.com/a.jpg', 'https://example.com/\udbff.jpg'] } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'input.image_urls.1',
  },
  {
    name: 'U+0000 in the callbackUrl',
    body: edit({ callbackUrl: 'https://hooks.example.com/cb\u0000' }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'callbackUrl',
  },
  {
    name: 'a lone surrogate in the callbackUrl',
    body: edit({ callbackUrl: 'https://hooks.example.com/cb?x=\ud83d' }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'callbackUrl',
  },
  {
    name: 'U+0000 in the model',
    body: edit({ model: 'pixelbyte-plus/pixel-image-1.0/image-to-image\u0000' }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'model',
  },
  { name: 'U+0000 in a metadata value', body: edit({ metadata: { note: `${MARKER}\u0000` } }), status: 400, code: 'INVALID_INPUT', path: 'metadata.note' },
  {
    name: 'a lone surrogate in a metadata value',
    body: edit({ metadata: { note: `${MARKER}\udfff` } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'metadata.note',
  },
  {
    name: 'U+0000 in a nested metadata value',
    body: edit({ metadata: { list: [{ ok: 'fine' }, { deep: `x\u0000` }] } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'metadata.list.1.deep',
  },
  { name: 'U+0000 in a metadata key', body: edit({ metadata: { 'a\u0000b': 1 } }), status: 400, code: 'INVALID_INPUT', path: 'metadata.a\u0000b' },
  {
    name: 'a lone surrogate in a nested metadata key',
    body: edit({ metadata: { outer: { 'k\ud800': 'v' } } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'metadata.outer.k\ud800',
  },
  { name: 'metadata nested 3,000 objects deep', body: rawMetadata(nested(3_000, '{"a":', '}')), status: 400, code: 'INVALID_INPUT', path: /^metadata(\.a)+$/ },
  {
    name: 'metadata nested 3,000 arrays deep',
    body: rawMetadata(`{"a":${nested(3_000, '[', ']')}}`),
    status: 400,
    code: 'INVALID_INPUT',
    path: /^metadata\.a(\.0)+$/,
  },
  {
    name: 'a prompt nested 3,000 arrays deep',
    body: `{"input":{"prompt":${nested(3_000, '[', ']')},"image_urls":["https://example.com/a.jpg"]}}`,
    status: 400,
    code: 'INVALID_INPUT',
    path: 'input.prompt',
  },
  {
    name: 'an unknown field nested 3,000 objects deep',
    body: `{"input":${JSON.stringify(input)},"extra":${nested(3_000, '{"a":', '}')}}`,
    status: 400,
    code: 'INVALID_INPUT',
    path: '(body)',
  },
  { name: 'metadata nested 33 levels', body: rawMetadata(nested(33, '{"a":', '}')), status: 400, code: 'INVALID_INPUT', path: /^metadata(\.a)+$/ },
  { name: 'metadata over 16 KiB', body: edit({ metadata: { pad: 'y'.repeat(17 * 1024) } }), status: 400, code: 'INVALID_INPUT', path: 'metadata' },
  {
    name: 'metadata over 16 KiB in UTF-8 though under 16 Ki characters',
    body: edit({ metadata: { pad: 'é'.repeat(9 * 1024) } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'metadata',
  },
  {
    name: 'a metadata key of 257 characters',
    body: edit({ metadata: { ['k'.repeat(257)]: 1 } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: `metadata.${'k'.repeat(257)}`,
  },
  { name: 'metadata 1e400 (Infinity)', body: rawMetadata('{"n":1e400}'), status: 400, code: 'INVALID_INPUT', path: 'metadata.n' },
  { name: 'metadata -1e400 (-Infinity), nested', body: rawMetadata('{"deep":{"n":[-1e400]}}'), status: 400, code: 'INVALID_INPUT', path: 'metadata.deep.n.0' },
  { name: 'metadata 2^60 (rounded by JSON.parse)', body: rawMetadata('{"n":1152921504606846976}'), status: 400, code: 'INVALID_INPUT', path: 'metadata.n' },
  { name: 'metadata 2^53 + 1 (read as 2^53)', body: rawMetadata('{"n":9007199254740993}'), status: 400, code: 'INVALID_INPUT', path: 'metadata.n' },
  {
    name: 'a cursor in year 275760',
    method: 'GET',
    url: `/v1/edits?cursor=${cursorOf('+275760-09-13T00:00:00.000Z')}`,
    status: 400,
    code: 'INVALID_INPUT',
    path: 'cursor',
  },
  {
    name: 'a cursor in year -271821',
    method: 'GET',
    url: `/v1/edits?cursor=${cursorOf('-271821-04-20T00:00:00.000Z')}`,
    status: 400,
    code: 'INVALID_INPUT',
    path: 'cursor',
  },
  {
    name: 'a cursor in year 0 (1 BC)',
    method: 'GET',
    url: `/v1/edits?cursor=${cursorOf('0000-01-01T00:00:00.000Z')}`,
    status: 400,
    code: 'INVALID_INPUT',
    path: 'cursor',
  },
  {
    name: 'a cursor in year -1 (2 BC)',
    method: 'GET',
    url: `/v1/edits?cursor=${cursorOf('-000001-01-01T00:00:00.000Z')}`,
    status: 400,
    code: 'INVALID_INPUT',
    path: 'cursor',
  },
  {
    name: 'a cursor in year 10000',
    method: 'GET',
    url: `/v1/edits?cursor=${cursorOf('+010000-01-01T00:00:00.000Z')}`,
    status: 400,
    code: 'INVALID_INPUT',
    path: 'cursor',
  },
  { name: 'a cursor with a BC date', method: 'GET', url: `/v1/edits?cursor=${cursorOf('0001-01-01 BC')}`, status: 400, code: 'INVALID_INPUT', path: 'cursor' },
  {
    name: 'a cursor with 30 February',
    method: 'GET',
    url: `/v1/edits?cursor=${cursorOf('2024-02-30T00:00:00.000Z')}`,
    status: 400,
    code: 'INVALID_INPUT',
    path: 'cursor',
  },
  { name: 'a cursor that is not base64 JSON', method: 'GET', url: '/v1/edits?cursor=%00%ff', status: 400, code: 'INVALID_INPUT', path: 'cursor' },
  {
    name: 'a cursor of the wrong shape',
    method: 'GET',
    url: `/v1/edits?cursor=${Buffer.from('{"a":1}').toString('base64url')}`,
    status: 400,
    code: 'INVALID_INPUT',
    path: 'cursor',
  },
  {
    name: 'a callbackUrl with user:password@',
    body: edit({ callbackUrl: 'https://user:password@hooks.example.com/cb' }),
    status: 400,
    code: 'INVALID_CALLBACK_URL',
  },
  { name: 'a callbackUrl with a user name only', body: edit({ callbackUrl: 'https://user@hooks.example.com/cb' }), status: 400, code: 'INVALID_CALLBACK_URL' },
  { name: 'a 6to4 callbackUrl embedding 127.0.0.1', body: edit({ callbackUrl: 'https://[2002:7f00:1::]/cb' }), status: 400, code: 'INVALID_CALLBACK_URL' },
  { name: 'a 6to4 callbackUrl embedding 10.0.0.1', body: edit({ callbackUrl: 'https://[2002:a00:1::]/cb' }), status: 400, code: 'INVALID_CALLBACK_URL' },
  // Teredo keeps the client's IPv4 inverted in the last 32 bits: f5ff:fffe is 10.0.0.1.
  {
    name: 'a Teredo callbackUrl embedding 10.0.0.1',
    body: edit({ callbackUrl: 'https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/cb' }),
    status: 400,
    code: 'INVALID_CALLBACK_URL',
  },
  {
    name: 'a NAT64 (64:ff9b:1::/48) callbackUrl embedding 10.0.0.1',
    body: edit({ callbackUrl: 'https://[64:ff9b:1::a00:1]/cb' }),
    status: 400,
    code: 'INVALID_CALLBACK_URL',
  },
  {
    name: 'an SIIT (::ffff:0:0:0/96) callbackUrl embedding 10.0.0.1',
    body: edit({ callbackUrl: 'https://[::ffff:0:a00:1]/cb' }),
    status: 400,
    code: 'INVALID_CALLBACK_URL',
  },
  {
    name: 'a callbackUrl in 192.88.99.0/24 (6to4 relay anycast)',
    body: edit({ callbackUrl: 'https://192.88.99.1/cb' }),
    status: 400,
    code: 'INVALID_CALLBACK_URL',
  },
  // The estimate reads the body exactly as POST /v1/edits does.
  {
    name: 'U+0000 in the prompt of an estimate',
    url: '/v1/edits/estimate',
    body: edit({ input: { ...input, prompt: `${MARKER} a\u0000b` } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'input.prompt',
  },
  {
    name: 'a lone surrogate in an image URL of an estimate',
    url: '/v1/edits/estimate',
    body: edit({ input: { ...input, image_urls: ['https://example.com/\udbff.jpg'] } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'input.image_urls.0',
  },
  {
    name: 'metadata nested 3,000 objects deep in an estimate',
    url: '/v1/edits/estimate',
    body: rawMetadata(nested(3_000, '{"a":', '}')),
    status: 400,
    code: 'INVALID_INPUT',
    path: /^metadata(\.a)+$/,
  },
  // Bytes that are not UTF-8 were read as U+FFFD and stored: "exactly as sent" cannot hold for them.
  { name: 'a 0xFF byte in the prompt', body: withBytes(edit({ input: { ...input, prompt: `${MARKER} a«»b` } }), [0xff]), status: 400, code: 'INVALID_UTF8' },
  {
    name: 'an overlong encoding of "/" (C0 AF) in a metadata value',
    body: withBytes(edit({ metadata: { note: `${MARKER} ..«»etc` } }), [0xc0, 0xaf]),
    status: 400,
    code: 'INVALID_UTF8',
  },
  {
    name: 'a lone surrogate encoded as UTF-8 bytes (ED A0 80) in the prompt',
    body: withBytes(edit({ input: { ...input, prompt: `${MARKER} a«»b` } }), [0xed, 0xa0, 0x80]),
    status: 400,
    code: 'INVALID_UTF8',
  },
  {
    name: 'a sequence cut short (E2 82) at the end of a metadata key',
    body: withBytes(edit({ metadata: { 'k«»': MARKER } }), [0xe2, 0x82]),
    status: 400,
    code: 'INVALID_UTF8',
  },
  {
    name: 'a code point above U+10FFFF (F4 90 80 80) in the callbackUrl',
    body: withBytes(edit({ callbackUrl: 'https://hooks.example.com/«»' }), [0xf4, 0x90, 0x80, 0x80]),
    status: 400,
    code: 'INVALID_UTF8',
  },
  {
    name: 'a Latin-1 é (0xE9) in the prompt of an estimate',
    url: '/v1/edits/estimate',
    body: withBytes(edit({ input: { ...input, prompt: `${MARKER} caf«»` } }), [0xe9]),
    status: 400,
    code: 'INVALID_UTF8',
  },
  // Model slugs come from the path, where the router decodes them.
  { name: 'U+0000 in a model slug', method: 'GET', url: '/v1/models/google%00/nano-banana/edit-image', status: 404, code: 'MODEL_NOT_FOUND' },
  { name: 'an encoded lone surrogate in a model slug', method: 'GET', url: '/v1/models/google/%ED%A0%80', status: 400, code: 'INVALID_URL' },
  { name: 'malformed percent-encoding in an edit id', method: 'GET', url: '/v1/edits/%E0%A4%A', status: 400, code: 'INVALID_URL' },
  { name: 'an edit id of 101 characters', method: 'GET', url: `/v1/edits/${'a'.repeat(101)}`, status: 414, code: 'URI_TOO_LONG' },
  // Uploads: the type is the bytes', the size is bounded, the multipart has exactly one part named file.
  upload(
    'a PNG signature on a text file',
    [{ name: 'file', filename: 'a.png', type: 'image/png', body: pngSignatureThen(`${MARKER} text`) }],
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ),
  upload(
    'a text file sent as a part',
    [{ name: 'file', filename: 'notes.txt', type: 'text/plain', body: `${MARKER} plain text` }],
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ),
  {
    name: 'a text file sent as image/png',
    url: '/v1/uploads',
    contentType: 'image/png',
    body: `${MARKER} plain text`,
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  { name: 'JPEG bytes sent as image/png', url: '/v1/uploads', contentType: 'image/png', body: JPEG, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  upload('a PNG part declared image/gif', [{ name: 'file', filename: 'a.gif', type: 'image/gif', body: PNG }], 415, 'UNSUPPORTED_MEDIA_TYPE'),
  upload('a file of 10 MiB + 1 byte', [{ name: 'file', filename: 'big.png', type: 'image/png', body: pngOfSize(10 * 1024 * 1024 + 1) }], 413, 'FILE_TOO_LARGE'),
  {
    name: 'a body of 10 MiB + 1 byte',
    url: '/v1/uploads',
    contentType: 'image/png',
    body: pngOfSize(10 * 1024 * 1024 + 1),
    status: 413,
    code: 'FILE_TOO_LARGE',
  },
  upload('an empty file', [{ name: 'file', filename: 'empty.png', type: 'image/png', body: '' }], 400, 'FILE_EMPTY'),
  { name: 'an empty image/png body', url: '/v1/uploads', contentType: 'image/png', body: '', status: 400, code: 'FILE_EMPTY' },
  upload('a multipart with no part at all', [], 400, 'INVALID_INPUT', 'file'),
  upload('a multipart with a text field and no file part', [{ name: 'note', body: MARKER }], 400, 'INVALID_INPUT', 'note'),
  upload('a multipart whose file part has another name', [{ name: 'image', filename: 'a.png', type: 'image/png', body: PNG }], 400, 'INVALID_INPUT', 'image'),
  upload(
    'a multipart with two file parts',
    [
      { name: 'file', filename: 'a.png', type: 'image/png', body: PNG },
      { name: 'file', filename: 'b.png', type: 'image/png', body: PNG },
    ],
    400,
    'INVALID_INPUT',
    'file',
  ),
  { name: 'a multipart without a boundary', url: '/v1/uploads', contentType: 'multipart/form-data', body: PNG, status: 400, code: 'INVALID_MULTIPART' },
  {
    name: 'a multipart cut short inside its file part',
    url: '/v1/uploads',
    contentType: multipartBody([]).contentType,
    body: multipartBody([{ name: 'file', filename: 'a.png', type: 'image/png', body: PNG }]).payload.subarray(0, 150),
    status: 400,
    code: 'INVALID_MULTIPART',
  },
  { name: 'a JSON body to the upload route', url: '/v1/uploads', body: edit({}), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'no body at all to the upload route', url: '/v1/uploads', contentType: null, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'an upload id that is not a UUID', method: 'GET', url: '/v1/uploads/..%2F..%2Fetc', status: 404, code: 'UPLOAD_NOT_FOUND' },
  { name: 'an upload id of 101 characters', method: 'GET', url: `/v1/uploads/${'a'.repeat(101)}`, status: 414, code: 'URI_TOO_LONG' },
  // An edit naming an upload: a well-formed id of the caller's own, or nothing.
  {
    name: 'an edit naming another client’s upload',
    body: async () => {
      const other = await createClient(t);
      const res = await uploadFile(t, PNG, { auth: other.auth });
      return edit({ input: { ...input, image_urls: [`upload:${res.body.id}`] } });
    },
    status: 400,
    code: 'UNKNOWN_UPLOAD',
  },
  {
    name: 'an edit naming an upload that does not exist',
    body: edit({ input: { ...input, image_urls: ['https://example.com/a.jpg', `upload:${randomUUID()}`] } }),
    status: 400,
    code: 'UNKNOWN_UPLOAD',
  },
  {
    name: 'a malformed upload: id',
    body: edit({ input: { ...input, image_urls: ['upload:../../etc/passwd'] } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'input.image_urls.0',
  },
  {
    name: 'an upload: id with U+0000',
    body: edit({ input: { ...input, image_urls: [`upload:${randomUUID()}\u0000`] } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'input.image_urls.0',
  },
  // A multipart bomb: more parts, larger or more headers, or deeper nesting than an upload has; none is read as a file.
  upload(
    'a multipart of 10,000 text parts',
    Array.from({ length: 10_000 }, (_, i) => ({ name: `f${i}`, body: MARKER })),
    400,
    'INVALID_INPUT',
    'f0',
  ),
  upload(
    'a multipart of the file then 10,000 more parts',
    [{ name: 'file', filename: 'a.png', type: 'image/png', body: PNG }, ...Array.from({ length: 10_000 }, (_, i) => ({ name: `f${i}`, body: MARKER }))],
    400,
    'INVALID_INPUT',
  ),
  upload(
    'a multipart of 1,000 file parts',
    Array.from({ length: 1_000 }, () => ({ name: 'file', filename: 'a.png', type: 'image/png', body: PNG })),
    400,
    'INVALID_INPUT',
    'file',
  ),
  {
    name: 'a multipart whose part header is 1 MiB long',
    url: '/v1/uploads',
    contentType: multipartBody([]).contentType,
    body: rawMultipart([`Content-Disposition: form-data; name="file"; filename="${'a'.repeat(1024 * 1024)}.png"`, 'Content-Type: image/png'], PNG),
    status: 400,
    code: 'INVALID_MULTIPART',
  },
  {
    name: 'a multipart whose part has 10,000 headers',
    url: '/v1/uploads',
    contentType: multipartBody([]).contentType,
    body: rawMultipart(
      [
        'Content-Disposition: form-data; name="file"; filename="a.png"',
        ...Array.from({ length: 10_000 }, (_, i) => `X-Pad-${i}: ${MARKER}`),
        'Content-Type: text/plain',
      ],
      `${MARKER} text`,
    ),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  upload(
    'a multipart nested in the file part',
    [
      {
        name: 'file',
        filename: 'nested.png',
        type: 'multipart/mixed; boundary=inner',
        body: multipartBody([{ name: 'file', filename: 'a.png', type: 'image/png', body: PNG }], 'inner').payload,
      },
    ],
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ),
  {
    name: 'a multipart body nested as the whole upload, sent as an image',
    url: '/v1/uploads',
    contentType: 'image/png',
    body: multipartBody([{ name: 'file', filename: 'a.png', type: 'image/png', body: PNG }]).payload,
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'a multipart with a boundary of 10,000 characters',
    url: '/v1/uploads',
    ...(() => {
      const { payload, contentType } = multipartBody([{ name: 'file', filename: 'a.png', type: 'image/png', body: PNG }], 'b'.repeat(10_000));
      return { contentType, body: payload };
    })(),
    status: 400,
    code: 'INVALID_MULTIPART',
  },
  // A raw body is the image itself, with an image type: any other type is refused before a byte is read.
  { name: 'PNG bytes sent as text/plain', url: '/v1/uploads', contentType: 'text/plain', body: PNG, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  {
    name: 'PNG bytes sent as application/x-www-form-urlencoded',
    url: '/v1/uploads',
    contentType: 'application/x-www-form-urlencoded',
    body: PNG,
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  { name: 'PNG bytes sent as image/svg+xml', url: '/v1/uploads', contentType: 'image/svg+xml', body: PNG, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  {
    name: 'PNG bytes sent as application/octet-stream',
    url: '/v1/uploads',
    contentType: 'application/octet-stream',
    body: PNG,
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  // An edit's data: URL is judged as an upload is: its bytes, its declared type, its size, its form.
  {
    name: 'a data URL that declares image/png and holds a JPEG',
    body: edit({ input: { ...input, image_urls: [dataUrl(JPEG, 'image/png')] } }),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    path: 'input.image_urls.0',
  },
  {
    name: 'a data URL of text behind a PNG signature',
    body: edit({ input: { ...input, image_urls: ['https://example.com/a.jpg', dataUrl(pngSignatureThen(`${MARKER} text`))] } }),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    path: 'input.image_urls.1',
  },
  {
    name: 'a data URL of text/html',
    body: edit({ input: { ...input, image_urls: [dataUrl(Buffer.from(`<script>${MARKER}</script>`), 'text/html')] } }),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    path: 'input.image_urls.0',
  },
  {
    name: 'a data URL of image/svg+xml',
    body: edit({ input: { ...input, image_urls: [dataUrl(Buffer.from(`<svg>${MARKER}</svg>`), 'image/svg+xml')] } }),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    path: 'input.image_urls.0',
  },
  {
    name: 'a data URL of 256 KiB + 1 byte',
    body: edit({ input: { ...input, image_urls: [dataUrl(pngOfSize(256 * 1024 + 1))] } }),
    status: 413,
    code: 'FILE_TOO_LARGE',
    path: 'input.image_urls.0',
  },
  {
    name: 'a data URL of 1 MiB',
    body: edit({ input: { ...input, image_urls: [dataUrl(pngOfSize(1024 * 1024))] } }),
    status: 413,
    code: 'FILE_TOO_LARGE',
    path: 'input.image_urls.0',
  },
  {
    name: 'an edit body over EDIT_BODY_LIMIT_BYTES',
    body: edit({ input: { ...input, image_urls: [dataUrl(pngOfSize(2 * 1024 * 1024))] } }),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    name: 'an empty data URL',
    body: edit({ input: { ...input, image_urls: ['data:image/png;base64,'] } }),
    status: 400,
    code: 'FILE_EMPTY',
    path: 'input.image_urls.0',
  },
  {
    name: 'a data URL that is not base64',
    body: edit({ input: { ...input, image_urls: [`data:image/png;base64,${PNG.toString('base64').slice(0, 20)}!!${MARKER}`] } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'input.image_urls.0',
  },
  {
    name: 'a data URL with U+0000 in its data',
    body: edit({ input: { ...input, image_urls: [`data:image/png;base64,iVBO\u0000Rw0K`] } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'input.image_urls.0',
  },
  {
    name: 'a data URL whose header is 10,000 characters',
    body: edit({ input: { ...input, image_urls: [`data:image/png;${'x=y;'.repeat(2_500)}base64,${PNG.toString('base64')}`] } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'input.image_urls.0',
  },
  {
    name: 'a percent-encoded data URL',
    body: edit({ input: { ...input, image_urls: [`data:image/png,${encodeURIComponent(PNG.toString('latin1'))}`] } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'input.image_urls.0',
  },
  {
    name: 'a data URL that is not base64, in an estimate',
    url: '/v1/edits/estimate',
    body: edit({ input: { ...input, image_urls: ['data:image/png;base64,@@@@'] } }),
    status: 400,
    code: 'INVALID_INPUT',
    path: 'input.image_urls.0',
  },
  {
    name: 'a data URL that lies about its type as a model’s image_url',
    body: JSON.stringify({ model: 'openai/gpt-image-1-mini/edit-image', input: { prompt: input.prompt, image_url: dataUrl(PNG, 'image/gif') } }),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    path: 'input.image_url',
  },
];

/** A multipart body of one part whose header lines are written as given. */
function rawMultipart(headers: string[], body: Buffer | string, boundary = 'pixelrelay-test-boundary'): Buffer {
  return Buffer.concat([Buffer.from(`--${boundary}\r\n${headers.join('\r\n')}\r\n\r\n`), Buffer.from(body), Buffer.from(`\r\n--${boundary}--\r\n`)]);
}

/** A POST /v1/uploads row with a hand-written multipart body. */
function upload(name: string, parts: Parameters<typeof multipartBody>[0], status: number, code: string, path?: string): Row {
  const { payload, contentType } = multipartBody(parts);
  return { name, url: '/v1/uploads', contentType, body: payload, status, code, ...(path ? { path } : {}) };
}

/** What a careless or hostile client sends as a PNG: the eight signature bytes, then anything. */
function pngSignatureThen(text: string): Buffer {
  return Buffer.concat([PNG.subarray(0, 8), Buffer.from(text)]);
}

const storedCount = async () => (await t.db.edit.count({ where: { clientId: t.clientId } })) + (await t.db.upload.count({ where: { clientId: t.clientId } }));

/** The relay's log lines written since `from`, parsed. */
function logsSince(from: number): { level: number; msg?: string; reqId?: string }[] {
  return t.logs.lines.slice(from).map((line) => JSON.parse(line));
}

describe('hostile client input', () => {
  it('has at least 25 rows', () => {
    expect(rows.length).toBeGreaterThanOrEqual(25);
  });

  it.each(rows.map((row) => [row.name, row] as const))('%s → 4xx with a stable code, nothing stored, nothing logged above warn', async (_name, row) => {
    const payload = typeof row.body === 'function' ? await row.body() : row.body;
    const contentType = row.contentType === undefined ? (payload !== undefined ? 'application/json' : undefined) : (row.contentType ?? undefined);
    const before = await storedCount();
    const logFrom = t.logs.lines.length;
    const res = await t.relay.app!.inject({
      method: row.method ?? 'POST',
      url: row.url ?? '/v1/edits',
      headers: { ...t.auth, ...(contentType !== undefined ? { 'content-type': contentType } : {}) },
      ...(payload !== undefined ? { payload } : {}),
    });

    expect(res.statusCode, res.body.slice(0, 500)).toBe(row.status);
    const body = res.json();
    expect(body).toMatchObject({ statusCode: row.status, code: row.code, error: expect.any(String), message: expect.any(String) });
    if (row.path !== undefined) {
      const paths: string[] = body.details.map((d: { path: string }) => d.path);
      if (typeof row.path === 'string') expect(paths).toContain(row.path);
      else
        expect(
          paths.some((p) => (row.path as RegExp).test(p)),
          paths.join(', ').slice(0, 500),
        ).toBe(true);
    }
    expect(await storedCount()).toBe(before);

    const lines = logsSince(logFrom);
    expect(lines.filter((l) => l.level > 40)).toEqual([]);
    expect(t.logs.lines.slice(logFrom).join('\n')).not.toContain(MARKER);
  });

  it('still accepts metadata at the limits: 32 levels deep, 16 KiB, 256-character keys, safe integers, astral characters', async () => {
    const limits = [
      rawMetadata(nested(32, '{"a":', '}')),
      edit({ metadata: { pad: 'y'.repeat(16 * 1024 - '{"pad":""}'.length) } }),
      edit({ metadata: { ['k'.repeat(256)]: [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0.5, -0, 1e-300, null, true] } }),
      edit({ metadata: { '😀': 'a paired surrogate 😀 is fine' }, input: { ...input, prompt: 'a sky of 😀' } }),
      // Valid UTF-8 of every length, written as bytes rather than escapes, and a byte-order mark before the JSON.
      Buffer.from(edit({ metadata: { note: 'é ह € 😀 \u{10FFFF}' } })),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(edit({ metadata: { bom: true } }))]),
    ];
    for (const payload of limits) {
      const res = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: { ...t.auth, 'content-type': 'application/json' }, payload });
      expect(res.statusCode, res.body.slice(0, 500)).toBe(202);
      expect(res.json().metadata).toEqual(JSON.parse(String(payload).replace(/^\uFEFF/, '')).metadata);
    }
  });
});

describe('bytes that are not UTF-8, on every route that reads a JSON body', () => {
  const notUtf8 = withBytes('{"name":"caf«»","input":{"prompt":"x"}}', [0xe9]);
  // Routes whose body is never JSON: they refuse the content type itself, before a byte of it is read.
  const notJson = new Set(['POST /v1/uploads']);

  it('answers 400 INVALID_UTF8 on each, before anything reads the body (415 where no JSON is taken at all)', async () => {
    const { routes } = await appRoutesAndDocument(t.config);
    // bull-board's routes are its own (read-only here), with their own error answers: not our API.
    const withBodies = routes
      .flatMap((r) => [r.method].flat().map((method) => ({ method, url: r.url })))
      .filter((r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method) && !r.url.startsWith(QUEUE_DASHBOARD_PATH));
    expect(withBodies.length).toBeGreaterThanOrEqual(9);
    const answers: Record<string, string> = {};
    for (const route of withBodies) {
      const editId = randomUUID();
      const url = route.url.replace(/:editId|:id|:keyId/g, editId).replace(':token', webhookToken(webhookUrlKey(t.config), editId));
      const headers = route.url.startsWith('/webhooks/') ? signedRawWebhook(notUtf8).headers : route.url.startsWith('/admin/') ? adminHeaders : t.auth;
      const res = await t.relay.app!.inject({
        method: route.method as 'POST',
        url,
        headers: { ...headers, 'content-type': 'application/json' },
        payload: notUtf8,
      });
      answers[`${route.method} ${route.url}`] = `${res.statusCode} ${res.json().code}`;
    }
    expect(answers).toEqual(
      Object.fromEntries(Object.keys(answers).map((name) => [name, notJson.has(name) ? '415 UNSUPPORTED_MEDIA_TYPE' : '400 INVALID_UTF8'])),
    );
    expect(Object.keys(answers).filter((name) => notJson.has(name))).toEqual([...notJson]);
    expect(await t.db.client.count({ where: { name: { contains: 'caf' } } })).toBe(0);
  });
});

describe('x-request-id', () => {
  const post = (requestId: string) =>
    t.relay.app!.inject({
      method: 'POST',
      url: '/v1/edits',
      headers: { ...t.auth, 'x-request-id': requestId },
      payload: { input: { ...input, prompt: 'request id' } },
    });
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it.each([
    ['10,000 characters long', `r${'x'.repeat(10_000)}`],
    ['129 characters long', 'a'.repeat(129)],
    ['made of spaces and markup', 'abc <script>alert(1)</script>'],
    ['quoted', 'abc"def'],
    ['Latin-1', 'caf\u00e9'],
  ])('a request id that is %s is replaced by a generated one, in the response and the logs', async (_what, requestId) => {
    const logFrom = t.logs.lines.length;
    const res = await post(requestId);
    expect(res.statusCode).toBe(202);
    const id = res.headers['x-request-id'];
    expect(id).toMatch(uuid);
    const lines = logsSince(logFrom);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.reqId === id || l.reqId === undefined)).toBe(true);
    expect(t.logs.lines.slice(logFrom).join('\n')).not.toContain(requestId.slice(0, 20));
  });

  it('a short safe request id is kept, in the response and the logs', async () => {
    const logFrom = t.logs.lines.length;
    const res = await post('client-req_42.a:b');
    expect(res.statusCode).toBe(202);
    expect(res.headers['x-request-id']).toBe('client-req_42.a:b');
    expect(logsSince(logFrom).some((l) => l.reqId === 'client-req_42.a:b')).toBe(true);
  });

  it('without one, a generated id is returned', async () => {
    const res = await t.relay.app!.inject({ method: 'GET', url: '/v1/edits?limit=1', headers: t.auth });
    expect(res.headers['x-request-id']).toMatch(uuid);
  });
});

describe('hostile text in a correctly signed PixelByte webhook', () => {
  // PixelByte's signature makes the bytes genuine, not storable: every string it sends ends up in a text or jsonb
  // column (the job id, the image URL and its format, the error) or decides what is stored.
  const completed = (jobId: string) => ({
    jobId,
    requestId: 'req_hostile',
    status: 'completed',
    output: { imageUrl: `https://cdn.example.com/${jobId}.png`, metadata: { width: 1024, height: 1024, format: 'png' } },
    completedAt: new Date().toISOString(),
  });
  const failed = (jobId: string) => ({
    jobId,
    requestId: 'req_hostile',
    status: 'failed',
    error: { code: 'CONTENT_POLICY', message: 'refused' },
    completedAt: new Date().toISOString(),
  });
  const cancelled = (jobId: string) => ({ jobId, requestId: 'req_hostile', status: 'cancelled', completedAt: new Date().toISOString() });
  const payloads = { completed, failed, cancelled };
  const fields: Record<keyof typeof payloads, string[]> = {
    completed: ['jobId', 'requestId', 'output.imageUrl', 'output.metadata.format', 'completedAt'],
    failed: ['jobId', 'requestId', 'error.code', 'error.message', 'completedAt'],
    cancelled: ['jobId', 'requestId', 'completedAt'],
  };
  const hostile = [
    ['U+0000', '\u0000'],
    ['a lone high surrogate', '\ud800'],
    ['a lone low surrogate', '\udfff'],
  ] as const;

  /** `payload` with `text` spliced into the string at `path` (JSON.stringify writes it as a \u escape, as PixelByte would). */
  function withText(payload: Record<string, unknown>, path: string, text: string) {
    const copy = structuredClone(payload);
    const keys = path.split('.');
    let at = copy as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) at = at[key] as Record<string, unknown>;
    const last = keys.at(-1)!;
    at[last] = `${String(at[last]).slice(0, 3)}${text}${String(at[last]).slice(3)}`;
    return copy;
  }

  /** An edit PixelByte has accepted as `jobId`, waiting for its webhook: one the webhook would move. */
  async function submittedEdit() {
    const res = await t.relay.app!.inject({ method: 'POST', url: '/v1/edits', headers: t.auth, payload: { input: { ...input, prompt: 'webhook target' } } });
    const id = res.json().id as string;
    const attempt = await t.edits.beginSubmitAttempt(id, 1, 'submit attempt 1');
    const jobId = `job_hostile_${id.slice(0, 8)}`;
    await t.edits.recordSubmitAccepted((attempt as { id: bigint }).id, id, { upstreamJobId: jobId, submittedAt: new Date() }, { cause: 'accepted', data: {} });
    return { id, jobId };
  }

  const deliver = (editId: string, payload: object) => {
    const { body, headers } = signedWebhook(payload);
    return t.relay.app!.inject({ method: 'POST', url: webhookPath(t.config, editId), headers, payload: body });
  };

  const cases = Object.entries(fields).flatMap(([status, paths]) =>
    paths.flatMap((path) => hostile.map(([what, text]) => [`${what} in ${status} ${path}`, status as keyof typeof payloads, path, text] as const)),
  );

  it.each(cases)('%s → 400 INVALID_INPUT naming the field, nothing stored, the edit unmoved, logged at warn', async (_name, status, path, text) => {
    const { id, jobId } = await submittedEdit();
    const logFrom = t.logs.lines.length;
    const res = await deliver(id, withText(payloads[status](jobId), path, text));

    expect(res.statusCode, res.body.slice(0, 500)).toBe(400);
    const body = res.json();
    expect(body).toMatchObject({ statusCode: 400, code: 'INVALID_INPUT', message: expect.any(String) });
    expect(body.details.map((d: { path: string }) => d.path)).toContain(path);
    expect(await t.db.webhookEvent.count({ where: { editId: id } })).toBe(0);
    expect(await t.db.edit.findUniqueOrThrow({ where: { id } })).toMatchObject({
      status: 'submitted',
      upstreamJobId: jobId,
      outputs: [],
      errorCode: null,
      errorMessage: null,
    });

    const lines = logsSince(logFrom) as { level: number; msg?: string; editId?: string; issues?: { path: string }[] }[];
    expect(lines.filter((l) => l.level > 40)).toEqual([]);
    const refusal = lines.find((l) => l.level === 40 && l.msg?.includes('webhook'));
    expect(refusal, 'a warning names the refused webhook').toMatchObject({ editId: id, issues: expect.arrayContaining([expect.objectContaining({ path })]) });
  });

  it('a correctly signed webhook whose bytes are not UTF-8 → 400 INVALID_UTF8 (its signature holds over those bytes), nothing stored, logged', async () => {
    const { id, jobId } = await submittedEdit();
    const bytes = withBytes(JSON.stringify(failed(jobId)).replace('refused', 'refus«»'), [0xe9]);
    const logFrom = t.logs.lines.length;
    const res = await t.relay.app!.inject({ method: 'POST', url: webhookPath(t.config, id), ...signedRawWebhook(bytes) });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, code: 'INVALID_UTF8' });
    expect(await t.db.webhookEvent.count({ where: { editId: id } })).toBe(0);
    expect((await t.db.edit.findUniqueOrThrow({ where: { id } })).status).toBe('submitted');
    const lines = logsSince(logFrom) as { level: number; msg?: string; editId?: string }[];
    expect(lines.filter((l) => l.level > 40)).toEqual([]);
    expect(lines.find((l) => l.level === 40 && l.msg?.includes('webhook'))).toMatchObject({ editId: id });
  });

  it('the same bytes signed over anything else → 401 INVALID_SIGNATURE', async () => {
    const { id, jobId } = await submittedEdit();
    const bytes = withBytes(JSON.stringify(failed(jobId)).replace('refused', 'refus«»'), [0xe9]);
    // What a check over the decoded text would have accepted: the bytes with U+FFFD in place of the bad one.
    const { headers } = signedRawWebhook(Buffer.from(bytes.toString('utf8')));
    const res = await t.relay.app!.inject({ method: 'POST', url: webhookPath(t.config, id), headers, payload: bytes });
    expect(res.statusCode, res.body).toBe(401);
    expect(res.json()).toMatchObject({ code: 'INVALID_SIGNATURE', details: { reason: 'SIGNATURE_MISMATCH' } });
  });

  it('a genuine webhook written in raw UTF-8 of every length is applied and stored byte for byte', async () => {
    const { id, jobId } = await submittedEdit();
    const text = JSON.stringify({ ...failed(jobId), error: { code: 'CONTENT_POLICY', message: 'refusé ह € 😀' } });
    const res = await t.relay.app!.inject({ method: 'POST', url: webhookPath(t.config, id), ...signedRawWebhook(Buffer.from(text)) });
    expect(res.statusCode, res.body).toBe(200);
    const [event] = await t.db.webhookEvent.findMany({ where: { editId: id } });
    expect(Buffer.from(event!.rawBody)).toEqual(Buffer.from(text));
    expect(await t.db.edit.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'failed', errorMessage: 'refusé ह € 😀' });
  });

  it('a genuine webhook that starts with a byte-order mark is applied, and stored with it', async () => {
    const { id, jobId } = await submittedEdit();
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(cancelled(jobId)))]);
    const res = await t.relay.app!.inject({ method: 'POST', url: webhookPath(t.config, id), ...signedRawWebhook(bytes) });
    expect(res.statusCode, res.body).toBe(200);
    const [event] = await t.db.webhookEvent.findMany({ where: { editId: id } });
    expect(Buffer.from(event!.rawBody)).toEqual(bytes);
  });

  it('covers every string field of the payload', () => {
    expect(cases).toHaveLength(13 * hostile.length);
  });

  it('still applies a webhook with paired surrogates, and one whose unknown field holds U+0000 (it is kept, as sent, in the raw body)', async () => {
    const { id, jobId } = await submittedEdit();
    const payload = { ...failed(jobId), error: { code: 'CONTENT_POLICY', message: 'refused 😀' }, extra: 'a\u0000b' };
    const res = await deliver(id, payload);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ received: true, duplicate: false, applied: true });
    const [event] = await t.db.webhookEvent.findMany({ where: { editId: id } });
    expect(event!.rawBody).toBe(JSON.stringify(payload));
    expect((await t.db.edit.findUniqueOrThrow({ where: { id } })).status).toBe('failed');
  });
});

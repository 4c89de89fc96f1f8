import { describe, expect, it } from 'vitest';
import { applyChange, withChanges } from '../../console/src/lib/editList.js';
import { EventParser, type ServerEvent } from '../../console/src/lib/eventParser.js';
import { defaultsOf, fieldsOf, inputOf, type JsonSchema } from '../../console/src/lib/schemaFields.js';
import { sourceImages } from '../../console/src/lib/sourceImages.js';
import { allModels } from '../../src/catalog/models.js';
import { toModelResource } from '../../src/catalog/resource.js';
import { estimateEdit } from '../../src/engine/accept/estimate.js';

function parse(chunks: string[]): ServerEvent[] {
  const parser = new EventParser();
  const events: ServerEvent[] = [];
  for (const chunk of chunks) parser.push(chunk, (event) => events.push(event));
  return events;
}

describe('the console’s event-stream parser', () => {
  const stream = 'id: 7431-18\nevent: ping\ndata: {}\n\n: a comment\nid: 7433-19\nevent: status\ndata: {"id":"e1",\ndata: "status":"queued"}\n\n';

  it('reads events, ids and multi-line data, skipping comments', () => {
    expect(parse([stream])).toEqual([
      { event: 'ping', data: '{}', id: '7431-18' },
      { event: 'status', data: '{"id":"e1",\n"status":"queued"}', id: '7433-19' },
    ]);
  });

  it('gives the same events however the body is cut into chunks, CRLF line ends included', () => {
    const whole = parse([stream]);
    for (let size = 1; size <= 7; size++) {
      const chunks = stream.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g'))!;
      expect(parse(chunks), `chunks of ${size}`).toEqual(whole);
    }
    const crlf = stream.replace(/\n/g, '\r\n');
    for (let size = 1; size <= 5; size++) expect(parse(crlf.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g'))!)).toEqual(whole);
  });

  it('sends nothing for an event still arriving', () => {
    expect(parse(['event: status\ndata: {"id":'])).toEqual([]);
  });
});

describe('the new-edit form, on every model of the catalog', () => {
  for (const model of allModels().map(toModelResource)) {
    const schema = model.inputSchema as JsonSchema;

    it(`${model.slug}: has a field for every required input, and its filled-in form is an input the relay accepts`, () => {
      const fields = fieldsOf(schema);
      for (const name of schema.required ?? []) expect(fields.map((f) => f.name)).toContain(name);
      const values = defaultsOf(schema);
      for (const field of fields) {
        if (field.kind === 'text' && field.name === 'prompt') values[field.name] = 'Make the sky purple';
        if (field.kind === 'image') values[field.name] = ['upload:7c0e5b1a-0000-4000-8000-000000000001'];
      }
      const estimate = estimateEdit({ model: model.slug, input: inputOf(fields, values) });
      expect(estimate.estimatedCostMicroCents).toBeGreaterThan(0);
    });
  }

  it('leaves out an optional field left empty, so the model’s default applies', () => {
    const fields = fieldsOf({ type: 'object', properties: { prompt: { type: 'string' }, size: { type: 'string', enum: ['1K', '2K'] } } });
    expect(inputOf(fields, { prompt: 'x', size: '' })).toEqual({ prompt: 'x' });
  });
});

describe('the edit page’s source images', () => {
  it('are every URL, data: URL and upload reference the input names, wherever it sits, and not a prompt', () => {
    const input = {
      prompt: 'https://not-an-image-field.example is still a URL',
      image_urls: ['upload:u1', 'https://example.com/a.png'],
      extra: { image_url: 'data:image/png;base64,AAAA' },
      n: 2,
    };
    expect(sourceImages(input)).toEqual(['upload:u1', 'https://example.com/a.png', 'data:image/png;base64,AAAA']);
  });
});

describe('the live edits list', () => {
  const edit = (id: string, status: string, updatedAt: string) => ({ id, status, updatedAt });
  const all = () => true;

  it('puts a new edit on top, replaces a known one, and drops one the filters no longer pass', () => {
    const list = [edit('a', 'queued', '2026-01-01T00:00:01Z')];
    expect(applyChange(list, edit('b', 'queued', '2026-01-01T00:00:02Z'), all).map((e) => e.id)).toEqual(['b', 'a']);
    expect(applyChange(list, edit('a', 'completed', '2026-01-01T00:00:03Z'), all)).toEqual([edit('a', 'completed', '2026-01-01T00:00:03Z')]);
    expect(applyChange(list, edit('a', 'completed', '2026-01-01T00:00:03Z'), (e) => e.status === 'queued')).toEqual([]);
  });

  it('keeps what a page read after a change says, and what a change after the page says', () => {
    const page = [edit('a', 'completed', '2026-01-01T00:00:05Z'), edit('b', 'queued', '2026-01-01T00:00:01Z')];
    const changes = [
      edit('a', 'processing', '2026-01-01T00:00:03Z'),
      edit('b', 'completed', '2026-01-01T00:00:04Z'),
      edit('c', 'queued', '2026-01-01T00:00:06Z'),
    ];
    expect(withChanges(page, changes, all)).toEqual([
      edit('c', 'queued', '2026-01-01T00:00:06Z'),
      edit('a', 'completed', '2026-01-01T00:00:05Z'),
      edit('b', 'completed', '2026-01-01T00:00:04Z'),
    ]);
  });
});

import { useEffect, useState } from 'preact/hooks';
import { SchemaForm } from '../components/SchemaForm.js';
import { api, type Estimate, type Model, problemText } from '../lib/api.js';
import { dollars } from '../lib/format.js';
import { navigate } from '../lib/router.js';
import { defaultsOf, fieldsOf, inputOf, type JsonSchema, type Values } from '../lib/schemaFields.js';

/** A new edit: the model's own form, its price before sending, a local image uploaded first; then its page. */
export function NewEditPage() {
  const [models, setModels] = useState<Model[]>([]);
  const [slug, setSlug] = useState('');
  const [values, setValues] = useState<Values>({});
  const [estimate, setEstimate] = useState<Estimate | null>(null);
  const [estimateProblem, setEstimateProblem] = useState<string | null>(null);
  const [uploading, setUploading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  useEffect(() => {
    void api.GET('/v1/models').then(({ data, error: failed }) => {
      if (failed) return setError(problemText(failed));
      setModels(data.models);
      const first = data.models[0];
      if (first) {
        setSlug(first.slug);
        setValues(defaultsOf(first.inputSchema as JsonSchema));
      }
    });
  }, []);

  const model = models.find((m) => m.slug === slug);
  const schema = (model?.inputSchema ?? {}) as JsonSchema;
  const fields = fieldsOf(schema);
  const body = { model: slug, input: inputOf(fields, values) };
  const bodyKey = JSON.stringify(body);

  // The price of this very body, from the relay's own estimate, each time the form changes.
  useEffect(() => {
    if (!model) return;
    let current = true;
    void api.POST('/v1/edits/estimate', { body: body as never }).then(({ data, error: failed }) => {
      if (!current) return;
      setEstimate(data ?? null);
      setEstimateProblem(failed ? problemText(failed) : null);
    });
    return () => {
      current = false;
    };
  }, [bodyKey]);

  const upload = async (field: string, file: File) => {
    setUploading(true);
    setError(null);
    const { data, error: failed } = await api.POST('/v1/uploads', {
      body: file as never,
      bodySerializer: (b: unknown) => b as BodyInit,
      headers: { 'content-type': file.type || 'application/octet-stream' },
    });
    setUploading(false);
    if (failed || !data) return setError(problemText(failed, 'The image could not be uploaded'));
    const many = fields.find((f) => f.name === field && f.kind === 'image' && f.many);
    const chosen = many ? [...((values[field] as string[] | undefined) ?? []), `upload:${data.id}`] : [`upload:${data.id}`];
    setValues({ ...values, [field]: chosen });
  };

  const send = async (event: Event) => {
    event.preventDefault();
    setSending(true);
    setError(null);
    const { data, error: failed } = await api.POST('/v1/edits', { body: body as never, headers: { 'idempotency-key': crypto.randomUUID() } });
    setSending(false);
    if (failed || !data) return setError(problemText(failed, 'The edit was not accepted'));
    navigate(`/edits/${data.id}`);
  };

  return (
    <section aria-labelledby="new-title">
      <h1 id="new-title">New edit</h1>
      <form class="new-edit" onSubmit={send}>
        <div class="field">
          <label for="model">Model</label>
          <select
            id="model"
            value={slug}
            onChange={(e) => {
              const next = models.find((m) => m.slug === (e.target as HTMLSelectElement).value);
              setSlug(next?.slug ?? '');
              setValues(next ? defaultsOf(next.inputSchema as JsonSchema) : {});
            }}
          >
            {models.map((m) => (
              <option key={m.slug} value={m.slug}>
                {m.name} ({m.slug})
              </option>
            ))}
          </select>
          {model && (
            <small>
              {model.provider} · about {model.typicalSeconds} s · {model.pricing.rule}
            </small>
          )}
        </div>
        {model && <SchemaForm schema={schema} values={values} onChange={setValues} onImage={upload} uploading={uploading} />}
        <p class="estimate" role="status" aria-live="polite">
          {uploading ? 'Uploading…' : estimate ? `Estimated cost: ${dollars(estimate.estimatedCostMicroCents)}` : `Estimate: ${estimateProblem ?? '…'}`}
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={sending || uploading || !estimate}>
          {sending ? 'Sending…' : 'Send edit'}
        </button>
      </form>
    </section>
  );
}

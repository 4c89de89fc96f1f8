import { useEffect, useState } from 'preact/hooks';
import { api, type Client, type ClientDetail, problemText } from '../lib/api.js';
import { dollars, when } from '../lib/format.js';

/** A key shown the one time the API returns it: it is never readable again. */
function ShownOnce(props: { label: string; apiKey: string; onDone: () => void }) {
  return (
    <div class="shown-once" role="alert">
      <p>
        {props.label}: <code>{props.apiKey}</code>
      </p>
      <p>Copy it now: only its hash is stored, so it cannot be shown again.</p>
      <button type="button" class="secondary" onClick={props.onDone}>
        I have copied it
      </button>
    </div>
  );
}

const microCentsOf = (dollarsText: string) => (dollarsText.trim() === '' ? null : Math.round(Number(dollarsText) * 1_000_000));

function ClientRow(props: { client: Client; onChanged: () => void; onKey: (label: string, key: string) => void; onError: (text: string) => void }) {
  const { client } = props;
  const [budget, setBudget] = useState(client.dailyBudgetMicroCents === null ? '' : String(client.dailyBudgetMicroCents / 1_000_000));
  const [limit, setLimit] = useState(client.rateLimitPerMinute === null ? '' : String(client.rateLimitPerMinute));
  const path = { params: { path: { id: client.id } } };
  const [detail, setDetail] = useState<ClientDetail | null>(null);
  useEffect(() => {
    void api.GET('/admin/clients/{id}', path).then(({ data }) => setDetail(data ?? null));
  }, [client.id, client.updatedAt]);

  const save = async (event: Event) => {
    event.preventDefault();
    const { error } = await api.PATCH('/admin/clients/{id}', {
      ...path,
      body: { dailyBudgetMicroCents: microCentsOf(budget), rateLimitPerMinute: limit.trim() === '' ? null : Number(limit) },
    });
    if (error) props.onError(problemText(error));
    props.onChanged();
  };
  const issueKey = async () => {
    const { data, error } = await api.POST('/admin/clients/{id}/keys', path);
    if (error || !data) return props.onError(problemText(error));
    props.onKey(`New key for ${client.name}`, data.apiKey);
    props.onChanged();
  };
  const revoke = async (keyId: string) => {
    const { error } = await api.DELETE('/admin/keys/{keyId}', { params: { path: { keyId } } });
    if (error) props.onError(problemText(error));
    props.onChanged();
  };

  return (
    <tr data-client-id={client.id}>
      <th scope="row">
        {client.name}
        <div class="mono">{client.id}</div>
      </th>
      <td>
        <form class="inline" onSubmit={save} aria-label={`Budget and limit of ${client.name}`}>
          <label>
            Daily budget ($)
            <input type="number" min="0" step="0.01" value={budget} onInput={(e) => setBudget((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Requests per minute
            <input type="number" min="1" step="1" value={limit} onInput={(e) => setLimit((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" class="secondary">
            Save
          </button>
        </form>
        <small>
          Now: {client.dailyBudgetMicroCents === null ? 'no budget' : `${dollars(client.dailyBudgetMicroCents)} a day`},{' '}
          {client.rateLimitPerMinute === null ? 'no rate limit' : `${client.rateLimitPerMinute}/min`}
        </small>
      </td>
      <td data-today={client.id}>
        {detail ? (
          <>
            {dollars(detail.today.spentMicroCents)} spent today
            {detail.today.remainingMicroCents !== null && `, ${dollars(detail.today.remainingMicroCents)} left`}
            <br />
            {detail.queue.queued} queued, {detail.queue.inFlight} in flight
          </>
        ) : (
          '…'
        )}
      </td>
      <td>
        <ul class="keys">
          {client.keys.map((key) => (
            <li key={key.id}>
              <span class="mono">{key.prefix}…</span> {key.revokedAt ? `revoked ${when(key.revokedAt)}` : `last used ${when(key.lastUsedAt)}`}{' '}
              {!key.revokedAt && (
                <button type="button" class="secondary" onClick={() => revoke(key.id)}>
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
        <button type="button" class="secondary" onClick={issueKey}>
          Issue a key
        </button>
      </td>
    </tr>
  );
}

export function AdminClientsPage() {
  const [clients, setClients] = useState<Client[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [shown, setShown] = useState<{ label: string; apiKey: string } | null>(null);
  const [name, setName] = useState('');
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    void api.GET('/admin/clients').then(({ data, error: failed }) => (failed ? setError(problemText(failed)) : setClients(data.clients)));
  }, [reloads]);
  const reload = () => setReloads((n) => n + 1);

  const create = async (event: Event) => {
    event.preventDefault();
    setError(null);
    const { data, error: failed } = await api.POST('/admin/clients', { body: { name: name.trim() } });
    if (failed || !data) return setError(problemText(failed));
    setShown({ label: `API key of ${data.name}`, apiKey: data.apiKey });
    setName('');
    reload();
  };

  return (
    <section aria-labelledby="clients-title">
      <h1 id="clients-title">Clients</h1>
      {shown && <ShownOnce label={shown.label} apiKey={shown.apiKey} onDone={() => setShown(null)} />}
      <form class="inline" onSubmit={create}>
        <label>
          New client’s name
          <input required maxLength={200} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">Create client</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {clients && (
        <table class="clients">
          <thead>
            <tr>
              <th scope="col">Client</th>
              <th scope="col">Budget and limit</th>
              <th scope="col">Today</th>
              <th scope="col">Keys</th>
            </tr>
          </thead>
          <tbody>
            {clients.map((client) => (
              <ClientRow
                key={`${client.id}-${client.updatedAt}`}
                client={client}
                onChanged={reload}
                onKey={(label, apiKey) => setShown({ label, apiKey })}
                onError={setError}
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

import { useEffect, useRef, useState } from 'preact/hooks';
import { StatusBadge } from '../components/StatusBadge.js';
import { type AnyEdit, api, EDIT_STATUSES, type EditStatus, problemText } from '../lib/api.js';
import { applyChange, withChanges } from '../lib/editList.js';
import { followEvents } from '../lib/eventStream.js';
import { dollars, shortId, when } from '../lib/format.js';
import { Link } from '../lib/router.js';
import type { Role } from '../lib/session.js';

interface Filters {
  status?: EditStatus;
  model?: string;
}

const PAGE_SIZE = 50;

async function loadEdits(role: Role, filters: Filters, cursor?: string): Promise<{ edits: AnyEdit[]; nextCursor: string | null }> {
  const query = {
    limit: PAGE_SIZE,
    ...(filters.status ? { status: filters.status } : {}),
    ...(filters.model ? { model: filters.model } : {}),
    ...(cursor ? { cursor } : {}),
  };
  const { data, error } = role === 'admin' ? await api.GET('/admin/edits', { params: { query } }) : await api.GET('/v1/edits', { params: { query } });
  if (error) throw error;
  return data;
}

/** The first output, from the bucket's copy when there is one (PixelByte's CDN may have forgotten it). */
function firstOutput(edit: AnyEdit): string | undefined {
  const output = edit.outputs[0];
  if (!output) return undefined;
  return output.mirror && 'url' in output.mirror && output.mirror.url ? output.mirror.url : output.url;
}

const matches = (edit: AnyEdit, filters: Filters) => (!filters.status || edit.status === filters.status) && (!filters.model || edit.model === filters.model);

/** The newest edits; a client's list follows its event stream, so a change shows without a reload. */
export function EditsPage(props: { role: Role }) {
  const [filters, setFilters] = useState<Filters>({});
  const [edits, setEdits] = useState<AnyEdit[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [models, setModels] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState(false);
  const [reloads, setReloads] = useState(0);
  // What the stream sent since the page being shown was asked for: merged into it when it arrives.
  const changesSinceLoad = useRef(new Map<string, AnyEdit>());
  const keep = (edit: AnyEdit) => matches(edit, filters);

  useEffect(() => {
    if (props.role !== 'client') return;
    void api.GET('/v1/models').then(({ data }) => data && setModels(data.models.map((m) => m.slug)));
  }, [props.role]);

  useEffect(() => {
    let current = true;
    changesSinceLoad.current = new Map();
    loadEdits(props.role, filters).then(
      (loaded) => {
        if (!current) return;
        setEdits(withChanges(loaded.edits, changesSinceLoad.current.values(), keep));
        setNextCursor(loaded.nextCursor);
        setError(null);
      },
      (err) => {
        if (current) setError(problemText(err, 'The edits could not be read'));
      },
    );
    return () => {
      current = false;
    };
  }, [props.role, filters, reloads]);

  useEffect(() => {
    if (props.role !== 'client') return;
    return followEvents(
      '/v1/events',
      (event) => {
        if (event.event !== 'status') return;
        const changed = JSON.parse(event.data) as AnyEdit;
        changesSinceLoad.current.set(changed.id, changed);
        setEdits((list) => list && applyChange(list, changed, keep));
      },
      setLive,
    );
  }, [props.role, filters]);

  const loadMore = async () => {
    if (!nextCursor) return;
    try {
      const more = await loadEdits(props.role, filters, nextCursor);
      // An edit the stream already put on the page is not listed twice.
      setEdits((list) => [...(list ?? []), ...more.edits.filter((e) => !(list ?? []).some((known) => known.id === e.id))]);
      setNextCursor(more.nextCursor);
    } catch (err) {
      setError(problemText(err, 'More edits could not be read'));
    }
  };

  const modelChoices = [...new Set([...models, ...(edits ?? []).map((e) => e.model)])].sort();

  return (
    <section aria-labelledby="edits-title">
      <div class="title-row">
        <h1 id="edits-title">{props.role === 'admin' ? 'All clients’ edits' : 'Edits'}</h1>
        {props.role === 'client' ? (
          <span class={live ? 'live on' : 'live'} role="status">
            {live ? 'Live' : 'Connecting…'}
          </span>
        ) : (
          <button type="button" class="secondary" onClick={() => setReloads((n) => n + 1)}>
            Refresh
          </button>
        )}
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select
            name="status"
            value={filters.status ?? ''}
            onChange={(e) => setFilters({ ...filters, status: ((e.target as HTMLSelectElement).value || undefined) as EditStatus | undefined })}
          >
            <option value="">any</option>
            {EDIT_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Model
          <select
            name="model"
            value={filters.model ?? ''}
            onChange={(e) => setFilters({ ...filters, model: (e.target as HTMLSelectElement).value || undefined })}
          >
            <option value="">any</option>
            {modelChoices.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {edits && edits.length === 0 && <p>No edits{filters.status || filters.model ? ' match these filters' : ' yet'}.</p>}
      {edits && edits.length > 0 && (
        <table class="edits">
          <thead>
            <tr>
              <th scope="col">Output</th>
              <th scope="col">Edit</th>
              <th scope="col">Status</th>
              <th scope="col">Model</th>
              {props.role === 'admin' && <th scope="col">Client</th>}
              <th scope="col">Created</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {edits.map((edit) => (
              <tr key={edit.id} data-edit-id={edit.id} data-status={edit.status}>
                <td class="thumb-cell">{firstOutput(edit) && <img src={firstOutput(edit)} alt="" loading="lazy" decoding="async" />}</td>
                <td>
                  <Link href={`/edits/${edit.id}`}>{shortId(edit.id)}</Link>
                </td>
                <td>
                  <StatusBadge status={edit.status} />
                </td>
                <td>{edit.model}</td>
                {props.role === 'admin' && <td class="mono">{edit.clientId ? shortId(edit.clientId) : '—'}</td>}
                <td>{when(edit.createdAt)}</td>
                <td>{dollars(edit.costMicroCents ?? edit.estimatedCostMicroCents)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {nextCursor && (
        <button type="button" class="secondary" onClick={loadMore}>
          Older edits
        </button>
      )}
    </section>
  );
}

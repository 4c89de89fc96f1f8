import { useCallback, useEffect, useState } from 'preact/hooks';
import { CostSummary } from '../components/CostSummary.js';
import { Deliveries } from '../components/Deliveries.js';
import { EditImages } from '../components/EditImages.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { Timeline } from '../components/Timeline.js';
import { type AnyEdit, api, problemText, TERMINAL } from '../lib/api.js';
import { followEvents } from '../lib/eventStream.js';
import { when } from '../lib/format.js';
import type { Role } from '../lib/session.js';

const INCLUDE = 'history,attempts,deliveries';
const CANCELLABLE = ['queued', 'submitted', 'processing'];

async function readEdit(id: string, role: Role): Promise<AnyEdit> {
  const query = { include: INCLUDE };
  const { data, error } =
    role === 'admin'
      ? await api.GET('/admin/edits/{id}', { params: { path: { id }, query } })
      : await api.GET('/v1/edits/{id}', { params: { path: { id }, query } });
  if (error) throw error;
  return data;
}

/** One edit: its images side by side, history, attempts, callbacks and cost; a client's page follows it live. */
export function EditPage(props: { id: string; role: Role }) {
  const [edit, setEdit] = useState<AnyEdit | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const reload = useCallback(
    () =>
      readEdit(props.id, props.role).then(
        (read) => {
          setEdit(read);
          setError(null);
        },
        (err) => setError(problemText(err, 'The edit could not be read')),
      ),
    [props.id, props.role],
  );
  useEffect(() => void reload(), [reload]);

  const terminal = edit ? TERMINAL.includes(edit.status) : false;
  useEffect(() => {
    // The stream says when the edit moves; the page then reads it again, history and all.
    if (props.role !== 'client' || terminal) return;
    return followEvents(`/v1/edits/${encodeURIComponent(props.id)}/events`, (event) => {
      if (event.event === 'status') void reload();
    });
  }, [props.id, props.role, terminal, reload]);

  const act = async (what: 'cancel' | 'redeliver') => {
    setNotice(null);
    const path = { params: { path: { id: props.id } } };
    const { error: failed } = what === 'cancel' ? await api.POST('/v1/edits/{id}/cancel', path) : await api.POST('/v1/edits/{id}/callback/redeliver', path);
    setNotice(failed ? problemText(failed) : what === 'cancel' ? 'Cancelled.' : 'Redelivery started.');
    void reload();
  };

  if (error && !edit) {
    return (
      <section>
        <h1>Edit {props.id}</h1>
        <p class="error" role="alert">
          {error}
        </p>
      </section>
    );
  }
  if (!edit) return <p role="status">Loading…</p>;

  return (
    <article aria-labelledby="edit-title">
      <div class="title-row">
        <h1 id="edit-title">
          Edit <span class="mono">{edit.id}</span>
        </h1>
        <StatusBadge status={edit.status} />
      </div>
      <p class="meta">
        {edit.model} · created {when(edit.createdAt)}
        {edit.completedAt && ` · finished ${when(edit.completedAt)}`}
        {edit.clientId && (
          <>
            {' '}
            · client <span class="mono">{edit.clientId}</span>
          </>
        )}
      </p>
      {edit.error && (
        <p class="error">
          {edit.error.code}: {edit.error.message}
        </p>
      )}
      {props.role === 'client' && (
        <div class="actions">
          {CANCELLABLE.includes(edit.status) && (
            <button type="button" onClick={() => act('cancel')}>
              Cancel edit
            </button>
          )}
          {edit.callback.status === 'delivered' || edit.callback.status === 'failed' ? (
            <button type="button" class="secondary" onClick={() => act('redeliver')}>
              Redeliver callback
            </button>
          ) : null}
          {notice && <span role="status">{notice}</span>}
        </div>
      )}
      <EditImages edit={edit} role={props.role} />
      <div class="columns">
        <Timeline history={edit.history ?? []} />
        <CostSummary edit={edit} />
      </div>
      <Deliveries edit={edit} />
      <details>
        <summary>Input</summary>
        <pre>{JSON.stringify(edit.input, null, 2)}</pre>
      </details>
    </article>
  );
}

import type { AnyEdit } from '../lib/api.js';
import { when } from '../lib/format.js';

/** How the edit was sent to PixelByte, and how its callbacks went. */
export function Deliveries(props: { edit: AnyEdit }) {
  const attempts = props.edit.attempts ?? [];
  const deliveries = props.edit.deliveries ?? [];
  return (
    <div class="deliveries">
      <section aria-labelledby="attempts-title">
        <h2 id="attempts-title">Submit attempts</h2>
        {attempts.length === 0 ? (
          <p>None yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Outcome</th>
                <th scope="col">Started</th>
                <th scope="col">Answer</th>
              </tr>
            </thead>
            <tbody>
              {attempts.map((a) => (
                <tr key={a.attempt}>
                  <td>{a.attempt}</td>
                  <td>{a.outcome}</td>
                  <td>{when(a.startedAt)}</td>
                  <td>{[a.httpStatus, a.upstreamCode, a.message, a.upstreamJobId && `job ${a.upstreamJobId}`].filter(Boolean).join(' · ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="callbacks-title">
        <h2 id="callbacks-title">Callback deliveries</h2>
        {!props.edit.callbackUrl && <p>No callbackUrl.</p>}
        {props.edit.callbackUrl && deliveries.length === 0 && <p>None yet: a callback is sent once the edit is finished.</p>}
        {deliveries.map((d) => (
          <div key={d.id}>
            <p>
              <span class="mono">{d.type}</span> {d.status} after {d.attempts} attempt{d.attempts === 1 ? '' : 's'}
              {d.deliveredAt && ` · delivered ${when(d.deliveredAt)}`}
              {d.lastError && ` · ${d.lastError}`}
            </p>
            <ul>
              {d.log.map((a) => (
                <li key={`${a.series}-${a.attempt}`}>
                  {when(a.startedAt)} · series {a.series} attempt {a.attempt} · {a.statusCode ?? 'no answer'} in {a.durationMs} ms
                  {a.error && ` · ${a.error}`}
                </li>
              ))}
            </ul>
          </div>
        ))}
      </section>
    </div>
  );
}

import type { AnyEdit } from '../lib/api.js';
import { when } from '../lib/format.js';
import { StatusBadge } from './StatusBadge.js';

/** The edit's history: each move (and note) with its cause and time, oldest first. */
export function Timeline(props: { history: NonNullable<AnyEdit['history']> }) {
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <ol class="timeline">
        {props.history.map((h, n) => (
          <li key={n}>
            <time dateTime={h.at}>{when(h.at)}</time> <StatusBadge status={h.to} />
            {h.from === h.to && <span class="note"> note</span>}
            <span class="cause"> {h.cause}</span>
            {h.upstreamCode && <span class="mono"> ({h.upstreamCode})</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}

import type { EditStatus } from '../lib/api.js';

export function StatusBadge(props: { status: EditStatus }) {
  return <span class={`status status-${props.status}`}>{props.status}</span>;
}

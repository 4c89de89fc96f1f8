import type { AnyEdit } from '../lib/api.js';
import { dollars } from '../lib/format.js';

/** Estimated at accept, charged as PixelByte said; a failed or cancelled edit is refunded (the usage report counts it so). */
export function CostSummary(props: { edit: AnyEdit }) {
  const { edit } = props;
  const refunded = edit.status === 'failed' || edit.status === 'cancelled';
  return (
    <section aria-labelledby="cost-title">
      <h2 id="cost-title">Cost</h2>
      <dl class="cost">
        <dt>Estimated</dt>
        <dd data-cost="estimated">{dollars(edit.estimatedCostMicroCents)}</dd>
        <dt>Charged</dt>
        <dd data-cost="charged">{edit.costMicroCents === null ? 'not yet' : dollars(edit.costMicroCents)}</dd>
        <dt>Refunded</dt>
        <dd data-cost="refunded">{refunded ? dollars(edit.costMicroCents ?? edit.estimatedCostMicroCents) : '—'}</dd>
      </dl>
    </section>
  );
}

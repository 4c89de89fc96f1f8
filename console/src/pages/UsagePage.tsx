import { useEffect, useState } from 'preact/hooks';
import { type Bar, SpendChart } from '../components/SpendChart.js';
import { api, problemText, type Usage } from '../lib/api.js';
import { dollars } from '../lib/format.js';

export function UsagePage() {
  const [usage, setUsage] = useState<Usage | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void api.GET('/v1/usage').then(({ data, error: failed }) => (failed ? setError(problemText(failed)) : setUsage(data)));
  }, []);

  if (error) {
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  }
  if (!usage) return <p role="status">Loading…</p>;

  const days: string[] = [];
  for (let d = Date.parse(usage.from); d <= Date.parse(usage.to); d += 86_400_000) days.push(new Date(d).toISOString().slice(0, 10));
  const byDay: Bar[] = days.map((day) => ({
    label: day.slice(5),
    parts: usage.days.filter((r) => r.day === day).map((r) => ({ series: r.model, value: r.spentMicroCents + r.pendingMicroCents })),
  }));
  const models = [...new Set(usage.days.map((r) => r.model))];
  const byModel: Bar[] = models.map((model) => ({
    label: model.split('/').at(-2) ?? model,
    parts: [{ series: model, value: usage.days.filter((r) => r.model === model).reduce((s, r) => s + r.spentMicroCents + r.pendingMicroCents, 0) }],
  }));

  return (
    <section aria-labelledby="usage-title">
      <h1 id="usage-title">Usage</h1>
      <dl class="stats">
        <div>
          <dt>
            Spent {usage.from} to {usage.to}
          </dt>
          <dd>{dollars(usage.totals.spentMicroCents)}</dd>
        </div>
        <div>
          <dt>Held for edits in flight</dt>
          <dd>{dollars(usage.totals.pendingMicroCents)}</dd>
        </div>
        <div>
          <dt>Daily budget</dt>
          <dd>{usage.dailyBudgetMicroCents === null ? 'none' : dollars(usage.dailyBudgetMicroCents)}</dd>
        </div>
        <div>
          <dt>Queued</dt>
          <dd data-count="queued">{usage.queue.queued}</dd>
        </div>
        <div>
          <dt>In flight</dt>
          <dd data-count="in-flight">{usage.queue.inFlight}</dd>
        </div>
      </dl>
      <h2>Spend per day</h2>
      <SpendChart title="Spend per UTC day, by model, against the daily budget" bars={byDay} limit={usage.dailyBudgetMicroCents} limitLabel="daily budget" />
      <h2>Spend per model</h2>
      <SpendChart title="Spend per model over the period" bars={byModel} />
      <table>
        <caption>Per day and model</caption>
        <thead>
          <tr>
            <th scope="col">Day</th>
            <th scope="col">Model</th>
            <th scope="col">Edits</th>
            <th scope="col">Completed</th>
            <th scope="col">Refunded</th>
            <th scope="col">Spent</th>
            <th scope="col">Pending</th>
          </tr>
        </thead>
        <tbody>
          {usage.days.map((r) => (
            <tr key={`${r.day}-${r.model}`}>
              <td>{r.day}</td>
              <td>{r.model}</td>
              <td>{r.edits}</td>
              <td>{r.completed}</td>
              <td>{r.refunded}</td>
              <td>{dollars(r.spentMicroCents)}</td>
              <td>{dollars(r.pendingMicroCents)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

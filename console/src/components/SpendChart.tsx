import { dollars } from '../lib/format.js';

export interface Bar {
  label: string;
  /** Stacked parts, each with its own series name. */
  parts: { series: string; value: number }[];
}

/** Also in styles.css as .swatch-0 … .swatch-9, for the legend (no style attributes under the page's policy). */
const PALETTE = ['#2563eb', '#d97706', '#059669', '#7c3aed', '#dc2626', '#0891b2', '#65a30d', '#db2777', '#4b5563', '#9333ea'];

/**
 * A stacked bar chart as inline SVG (no script, no style attribute: the page's policy allows neither), with an
 * optional limit line, e.g. the daily budget. Described in text for screen readers through its title and table.
 */
export function SpendChart(props: { title: string; bars: Bar[]; limit?: number | null; limitLabel?: string }) {
  const series = [...new Set(props.bars.flatMap((b) => b.parts.map((p) => p.series)))];
  const colour = (name: string) => PALETTE[series.indexOf(name) % PALETTE.length]!;
  const totals = props.bars.map((b) => b.parts.reduce((sum, p) => sum + p.value, 0));
  const max = Math.max(1, ...totals, props.limit ?? 0);
  const width = 720;
  const height = 220;
  const left = 70;
  const bottom = 40;
  const top = 24;
  const plotHeight = height - bottom - top;
  // Capped, so a chart of one or two bars does not fill the width with them.
  const slot = Math.min(120, (width - left) / Math.max(1, props.bars.length));
  const y = (value: number) => top + plotHeight - (value / max) * plotHeight;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={props.title}>
        <title>{props.title}</title>
        <line x1={left} y1={y(0)} x2={width} y2={y(0)} stroke="#9ca3af" />
        <text x={left - 6} y={y(max)} text-anchor="end" font-size="11" fill="#374151">
          {dollars(max)}
        </text>
        <text x={left - 6} y={y(0)} text-anchor="end" font-size="11" fill="#374151">
          $0
        </text>
        {props.bars.map((bar, n) => {
          let base = 0;
          const x = left + n * slot + slot * 0.15;
          return (
            <g key={bar.label}>
              {bar.parts.map((part) => {
                const upper = y(base + part.value);
                const rect = (
                  <rect key={part.series} x={x} y={upper} width={slot * 0.7} height={Math.max(0, y(base) - upper)} fill={colour(part.series)}>
                    <title>{`${bar.label} · ${part.series}: ${dollars(part.value)}`}</title>
                  </rect>
                );
                base += part.value;
                return rect;
              })}
              {(props.bars.length <= 12 || n % Math.ceil(props.bars.length / 12) === 0) && (
                <text x={x + slot * 0.35} y={height - bottom + 14} text-anchor="middle" font-size="10" fill="#374151">
                  {bar.label}
                </text>
              )}
            </g>
          );
        })}
        {props.limit ? (
          <g>
            <line x1={left} y1={y(props.limit)} x2={width} y2={y(props.limit)} stroke="#dc2626" stroke-dasharray="6 4" />
            <text x={width - 4} y={y(props.limit) - 5} text-anchor="end" font-size="11" fill="#b91c1c">
              {props.limitLabel ?? 'limit'} {dollars(props.limit)}
            </text>
          </g>
        ) : null}
      </svg>
      <figcaption>
        <ul class="legend">
          {series.map((name) => (
            <li key={name}>
              <span class={`swatch swatch-${series.indexOf(name) % PALETTE.length}`} aria-hidden="true" /> {name}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}

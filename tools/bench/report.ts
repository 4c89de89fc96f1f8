import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './options.js';

const BENCHMARKS = join(REPO_ROOT, 'BENCHMARKS.md');
export const RUNS_MARKER = '<!-- bench: new standard runs go above this line -->';
export const BACKLOG_MARKER = '<!-- bench: new backlog runs go above this line -->';

export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Adds a row just above `marker` in BENCHMARKS.md (the end of that section's table). */
export function appendRow(marker: string, row: string): boolean {
  if (!existsSync(BENCHMARKS)) return false;
  const text = readFileSync(BENCHMARKS, 'utf8');
  const at = text.indexOf(marker);
  if (at < 0) return false;
  writeFileSync(BENCHMARKS, `${text.slice(0, at)}${row}\n${text.slice(at)}`);
  return true;
}

export const fmt = (v: number | undefined | null, digits = 0): string => (v === undefined || v === null || Number.isNaN(v) ? '–' : v.toFixed(digits));
/** A figure with its ratio to the ceiling: `1,234 (0.25×)`. */
export const withRatio = (v: number | undefined, ratio: number | null): string =>
  `${v === undefined ? '–' : Math.round(v).toLocaleString('en-US')}${ratio === null ? '' : ` (${ratio.toFixed(3)}×)`}`;

export const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

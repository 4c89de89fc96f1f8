/** Micro-cents (1,000,000 = $1) as dollars, to the hundredth of a cent: PixelByte prices run to $0.011. */
export function dollars(microCents: number): string {
  return `$${(microCents / 1_000_000).toFixed(4)}`;
}

/** Columns padded to their widest cell, for a person; `--json` is for scripts. */
export function printTable(out: NodeJS.WritableStream, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const row of [header, ...rows]) out.write(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`);
}

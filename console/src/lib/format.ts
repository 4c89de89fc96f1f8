/** Money is integer micro-cents in the API (1,000,000 = $1). */
export function dollars(microCents: number | null | undefined): string {
  if (microCents === null || microCents === undefined) return '—';
  const value = microCents / 1_000_000;
  return `$${value.toFixed(Math.abs(value) < 1 ? 4 : 2)}`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)} UTC`;
}

export const shortId = (id: string) => id.slice(0, 8);

/**
 * PixelByte's price rules, as integer micro-cents (1,000,000 = $1). A rule is data (shown by GET /v1/models)
 * plus the one function that applies it, so the shown rule and the charged figure cannot drift apart.
 */
export interface PriceBreakdown {
  baseMicroCents: number;
  unit: 'image' | 'request';
  /** The model's whole rule, as GET /v1/models shows it. */
  rule: string;
  /** Images priced (per-image rules), or 1. */
  quantity: number;
  /** A factor the input switched on (e.g. 4k), or 1. */
  multiplier: number;
  totalMicroCents: number;
}

export interface Pricing<Input> {
  baseMicroCents: number;
  unit: 'image' | 'request';
  /** The rule in words, e.g. "45000 micro-cents × num_images". */
  rule: string;
  price(input: Input): PriceBreakdown;
}

export function perImage<Input>(baseMicroCents: number, count: (input: Input) => number): Pricing<Input> {
  const rule = `${baseMicroCents} micro-cents × num_images`;
  return {
    baseMicroCents,
    unit: 'image',
    rule,
    price: (input) => {
      const quantity = count(input);
      return { baseMicroCents, unit: 'image', rule, quantity, multiplier: 1, totalMicroCents: baseMicroCents * quantity };
    },
  };
}

export interface Surcharge<Input> {
  when(input: Input): boolean;
  multiplier: number;
  rule: string;
}

export function perRequest<Input>(baseMicroCents: number, surcharge?: Surcharge<Input>): Pricing<Input> {
  const rule = `${baseMicroCents} micro-cents per request${surcharge ? `, ${surcharge.rule}` : ''}`;
  return {
    baseMicroCents,
    unit: 'request',
    rule,
    price: (input) => {
      const multiplier = surcharge?.when(input) ? surcharge.multiplier : 1;
      // Multipliers like 1.8 meet binary floating point: 134000 × 1.8 is 241199.99…, PixelByte charges 241200.
      return { baseMicroCents, unit: 'request', rule, quantity: 1, multiplier, totalMicroCents: Math.round(baseMicroCents * multiplier) };
    },
  };
}

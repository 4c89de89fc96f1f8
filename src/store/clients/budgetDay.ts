/** The UTC day (YYYY-MM-DD) an edit's cost counts towards in its client's ledger: the day it was accepted. */
export const budgetDay = (at: Date): string => at.toISOString().slice(0, 10);

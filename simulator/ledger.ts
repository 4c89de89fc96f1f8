/** The account's balance: charged at submit, refunded when a job fails or is cancelled (as PixelByte does). */
export class Ledger {
  private balance: number;
  charged = 0;
  refunded = 0;

  constructor(private readonly initialMicroCents: number) {
    this.balance = initialMicroCents;
  }

  get balanceMicroCents(): number {
    return this.balance;
  }

  canAfford(microCents: number): boolean {
    return this.balance >= microCents;
  }

  charge(microCents: number): void {
    this.balance -= microCents;
    this.charged += microCents;
  }

  refund(microCents: number): void {
    this.balance += microCents;
    this.refunded += microCents;
  }

  reset(): void {
    this.balance = this.initialMicroCents;
    this.charged = 0;
    this.refunded = 0;
  }
}

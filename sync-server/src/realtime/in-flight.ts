/**
 * Counts requests being handled so a graceful shutdown can wait for them: a push that was
 * accepted before SIGTERM is committed and acknowledged before its socket is closed.
 */
export class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];
  draining = false;

  async track<T>(work: () => Promise<T>): Promise<T> {
    this.count++;
    try {
      return await work();
    } finally {
      this.count--;
      if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    }
  }

  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

// At most a few password checks of one service at a time; the rest wait their turn in arrival
// order. A check allocates: reading and parsing the users table, and scrypt's N·r·128 bytes (16 MB
// at the default cost). A burst of 1 000 logins checked at once would hold all of that together,
// promoting it into the old generation and growing the worker's heap for good; taken a few at a
// time, it dies young. scrypt runs on libuv's pool of four threads anyway, so a small bound costs
// no throughput.

export class LoginQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`login queue limit must be a positive integer, not ${limit}`);
  }

  /** Runs `check` once fewer than `limit` checks are running; its result or error is passed on. */
  async run<T>(check: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running += 1;
    try {
      return await check();
    } finally {
      // The slot passes straight to the next waiter, so `running` counts it without a gap.
      const next = this.waiting.shift();
      if (next === undefined) this.running -= 1;
      else next();
    }
  }

  /** Checks running and waiting (tests and the memory report). */
  get size(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }
}

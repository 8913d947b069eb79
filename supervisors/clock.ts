// The one clock. Actors, deadlines and schedulers read time here rather than from Date.now(),
// so chaos runs can jump the clock and tests can pin it. Each thread has its own instance;
// a jump is applied to every thread by the runtime.

let offsetMs = 0;

export const clock = {
  /** Milliseconds since the epoch, as tsqmail sees it. */
  now(): number {
    return Date.now() + offsetMs;
  },
  /** Moves tsqmail's time forward (or back, with a negative value) by `ms`. */
  jump(ms: number): void {
    offsetMs += ms;
  },
  /** Returns to the system's time. */
  reset(): void {
    offsetMs = 0;
  },
};

// The one clock. Actors, deadlines and schedulers read time here rather than from Date.now(),
// so chaos runs can jump the clock and tests can pin it. Each thread has its own instance;
// a jump is applied to every thread by the runtime. A timer set for a moment on this clock
// (`clock.at`) is re-armed when the clock moves, so a jump past its moment makes it fire at once.

let offsetMs = 0;
const jumpListeners = new Set<() => void>();

// setTimeout takes at most 2^31-1 ms; a later moment is re-checked after that long.
const LONGEST_TIMER_MS = 2_147_483_647;

function moveTo(offset: number): void {
  if (offset === offsetMs) return;
  offsetMs = offset;
  for (const listener of [...jumpListeners]) listener();
}

export const clock = {
  /** Milliseconds since the epoch, as tsqmail sees it. */
  now(): number {
    return Date.now() + offsetMs;
  },
  /** Moves tsqmail's time forward (or back, with a negative value) by `ms`. */
  jump(ms: number): void {
    moveTo(offsetMs + ms);
  },
  /** Sets tsqmail's time to the system's plus `ms` (the total of every jump so far). */
  setOffset(ms: number): void {
    moveTo(ms);
  },
  /** Returns to the system's time. */
  reset(): void {
    moveTo(0);
  },
  /** Calls `listener` after every change of the clock's offset; the returned function unsubscribes. */
  onJump(listener: () => void): () => void {
    jumpListeners.add(listener);
    return () => void jumpListeners.delete(listener);
  },
  /**
   * Calls `fire` once tsqmail's time reaches `moment` (at once, asynchronously, if it has): the
   * wait is measured again whenever the clock jumps. The returned function cancels it.
   */
  at(moment: number, fire: () => void): () => void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      const wait = moment - clock.now();
      timer = wait > LONGEST_TIMER_MS ? setTimeout(arm, LONGEST_TIMER_MS) : setTimeout(done, Math.max(0, wait));
    };
    const done = (): void => {
      unsubscribe();
      fire();
    };
    const unsubscribe = clock.onJump(arm);
    arm();
    return () => {
      clearTimeout(timer);
      unsubscribe();
    };
  },
};

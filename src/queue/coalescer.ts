// Coalesced runs of an idempotent operation per key — a directory fsync, a trigger pull. What a
// caller needs is "a run that *began after* my change completed": one already running when the
// change happened may have missed it. So a caller is done at once if such a run already succeeded,
// joins the running one if that began after its change, and otherwise joins the single run that
// starts when the running one ends. Many concurrent enqueues thus share one fsync of todo/ (and of
// each mess/ subdirectory) instead of one each. One run per key at a time. Touches nothing itself.

/** Proof that a change under `key` happened: the number of runs for `key` started before it. */
export interface Mark {
  readonly key: string;
  readonly startedBefore: number;
}

export interface Coalescer {
  /** Call right after the change completed. */
  mark(key: string): Mark;
  /** Resolves when a run that began after the mark succeeded; rejects with the error of the run it joined. */
  after(mark: Mark): Promise<void>;
  /** Whether a run that began after the mark has already succeeded (then `after` resolves at once). */
  covered(mark: Mark): boolean;
}

interface KeyState {
  started: number;
  /** Sequence number of the latest run that succeeded (0: none yet). */
  lastSucceeded: number;
  running: { readonly seq: number; readonly done: Promise<void> } | undefined;
  queued: Promise<void> | undefined;
}

export function createCoalescer(operation: (key: string) => Promise<void>): Coalescer {
  const keys = new Map<string, KeyState>();

  const stateOf = (key: string): KeyState => {
    let state = keys.get(key);
    if (state === undefined) {
      state = { started: 0, lastSucceeded: 0, running: undefined, queued: undefined };
      keys.set(key, state);
    }
    return state;
  };

  const start = (key: string, state: KeyState): Promise<void> => {
    const seq = ++state.started;
    const done = operation(key)
      .then(() => {
        state.lastSucceeded = Math.max(state.lastSucceeded, seq);
      })
      .finally(() => {
        if (state.running?.seq === seq) state.running = undefined;
      });
    state.running = { seq, done };
    return done;
  };

  const covered = ({ key, startedBefore }: Mark): boolean => stateOf(key).lastSucceeded > startedBefore;

  return {
    mark(key) {
      return { key, startedBefore: stateOf(key).started };
    },
    covered,
    after(mark) {
      const { key, startedBefore } = mark;
      const state = stateOf(key);
      if (covered(mark)) return Promise.resolve();
      if (state.running !== undefined && state.running.seq > startedBefore) return state.running.done;
      // A queued run starts later than now, so it covers the change too.
      if (state.queued !== undefined) return state.queued;
      if (state.running === undefined) return start(key, state);
      // The running one may have missed this change: share the next run with everyone else waiting.
      state.queued = state.running.done
        .catch(() => undefined)
        .then(() => {
          state.queued = undefined;
          return start(key, state);
        });
      return state.queued;
    },
  };
}

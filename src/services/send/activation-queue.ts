// Which queue entries are live actors. A message whose every channel waits for a next try more
// than DORMANT_AFTER_MS away needs no live actor: its state is on disk (the channel files' mtimes
// are its deadlines), so its actor is stopped and only a small job — message number and earliest
// deadline — stays here, in a heap with one timer. When it comes due (or svc -a), the actor is
// spawned again and derives itself from the files, exactly as at start-up. New and recovered
// messages enter here too, with deadline 0. At most `liveLimit` actors are live at once, so
// memory is bounded however long the queue grows; each decision is O(log n) (job-heap.ts).

import { clock } from "../../../supervisors/clock.js";
import { waitingUntil, type QueueEntrySnapshot } from "../../../machines/queue-entry.js";
import { JobHeap, type HeapJob } from "./job-heap.js";

/** A wait longer than this is spent without a live actor. */
export const DORMANT_AFTER_MS = 10_000;

/** The time an entry may sleep until without a live actor, or undefined if it must stay live. */
export function dormantUntil(snapshot: QueueEntrySnapshot, now: number): number | undefined {
  const at = waitingUntil(snapshot);
  return at !== undefined && at - now > DORMANT_AFTER_MS ? at : undefined;
}

interface DormantEntry extends HeapJob {
  readonly id: number;
}

export class ActivationQueue {
  private readonly heap = new JobHeap<DormantEntry>();
  // clock.at, so a jump of the clock past the top's time activates it at once.
  private cancelTimer: (() => void) | undefined;
  private stopped = false;
  largestQueue = 0;

  constructor(
    /** Spawns the entry's actor. */
    private readonly activate: (id: number) => void,
    /** Whether another live actor fits. */
    private readonly hasRoom: () => boolean,
  ) {}

  get size(): number {
    return this.heap.size;
  }

  get comparisons(): number {
    return this.heap.comparisons;
  }

  get decisions(): number {
    return this.heap.operations;
  }

  has(id: number): boolean {
    return this.heap.has(String(id));
  }

  /** Queues message `id` to become live at `at` (an entry already queued keeps the earlier time). */
  add(id: number, at: number): void {
    const earlier = this.heap.remove(String(id));
    this.heap.push({ key: String(id), id, at: Math.min(at, earlier?.at ?? at) });
    this.largestQueue = Math.max(this.largestQueue, this.heap.size);
    this.pump();
  }

  /** svc -a: every dormant entry is due now; the ids woken are returned. */
  wakeAll(): number[] {
    const woken = [...this.heap.jobs()].map((job) => job.id);
    this.heap.setAllTimes(clock.now());
    this.pump();
    return woken;
  }

  /** Activates what is due while there is room; call again when a live actor ends. */
  pump(): void {
    if (this.stopped) return;
    const now = clock.now();
    while (this.hasRoom()) {
      const top = this.heap.peek();
      if (top === undefined || top.at > now) break;
      this.heap.pop();
      this.activate(top.id);
    }
    this.cancelTimer?.();
    const top = this.heap.peek();
    this.cancelTimer = top !== undefined && this.hasRoom() ? clock.at(top.at, () => this.pump()) : undefined;
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
  }
}

// One channel's scheduler (qmail-send's per-channel job queue). Jobs wait in a binary heap keyed by
// their next-try time; a job gets its turn once that time has passed and a delivery slot is free
// (concurrencylocal / concurrencyremote; 0 holds the channel). A turn comes with one reserved slot;
// a pass that has more recipients asks for more, and such requests are served before new turns,
// so a started pass is never starved by the queue behind it. One timer, armed for the heap's top,
// serves every waiting job. Each decision costs O(log n) heap comparisons (job-heap.ts counts them).

import { clock } from "../../../supervisors/clock.js";
import { JobHeap, type HeapJob } from "./job-heap.js";

interface WaitingJob extends HeapJob {
  readonly onTurn: () => void;
}

/** A pass's hold on the channel: its reserved slot first, then further slots as they free up. */
export interface ChannelLease {
  /** Resolves with the slot's release function once a delivery may start; undefined once stopping. */
  acquire(): Promise<(() => void) | undefined>;
  /** Gives back a reserved slot the pass did not use. */
  close(): void;
}

export class ChannelScheduler {
  private readonly heap = new JobHeap<WaitingJob>();
  private readonly reserved = new Map<string, number>();
  private reservedTotal = 0;
  private inUse = 0;
  private readonly slotWaiters: Array<(release: (() => void) | undefined) => void> = [];
  // clock.at, so a jump of the clock past the top's time gives it its turn at once.
  private cancelTimer: (() => void) | undefined;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  largestQueue = 0;

  constructor(private readonly limit: number) {}

  get running(): number {
    return this.inUse;
  }

  get queued(): number {
    return this.heap.size;
  }

  get comparisons(): number {
    return this.heap.comparisons;
  }

  get decisions(): number {
    return this.heap.operations;
  }

  /** Calls `onTurn` once `at` has passed and a slot is free; the returned function withdraws the job. */
  awaitTurn(key: string, at: number, onTurn: () => void): () => void {
    this.heap.push({ key, at, onTurn });
    this.largestQueue = Math.max(this.largestQueue, this.heap.size);
    this.pump();
    return () => {
      if (this.heap.remove(key) !== undefined) this.pump();
    };
  }

  lease(key: string): ChannelLease {
    return {
      acquire: () => {
        const reservation = this.reserved.get(key) ?? 0;
        if (reservation > 0) {
          this.unreserve(key, reservation);
          return Promise.resolve(this.take());
        }
        if (this.stopped) return Promise.resolve(undefined);
        return new Promise((resolve) => {
          this.slotWaiters.push(resolve);
          this.pump();
        });
      },
      close: () => {
        const reservation = this.reserved.get(key) ?? 0;
        if (reservation > 0) {
          this.unreserve(key, reservation);
          this.pump();
        }
      },
    };
  }

  /** svc -a: every waiting job is due now. */
  makeAllDue(): void {
    this.heap.setAllTimes(clock.now());
    this.pump();
  }

  /** svc -t: grant nothing new (passes waiting for a slot end); resolves once running deliveries have ended. */
  stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    for (const waiter of this.slotWaiters.splice(0)) waiter(undefined);
    if (this.inUse === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private get free(): number {
    return this.limit - this.inUse - this.reservedTotal;
  }

  private take(): () => void {
    this.inUse++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse--;
      if (this.inUse === 0 && this.stopped) for (const resolve of this.idleWaiters.splice(0)) resolve();
      this.pump();
    };
  }

  private unreserve(key: string, count: number): void {
    this.reserved.delete(key);
    this.reservedTotal -= count;
  }

  private pump(): void {
    if (this.stopped) return;
    while (this.free > 0 && this.slotWaiters.length > 0) this.slotWaiters.shift()!(this.take());
    const now = clock.now();
    while (this.free > 0) {
      const top = this.heap.peek();
      if (top === undefined || top.at > now) break;
      this.heap.pop();
      this.reserved.set(top.key, (this.reserved.get(top.key) ?? 0) + 1);
      this.reservedTotal++;
      top.onTurn();
    }
    this.arm();
  }

  private arm(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const top = this.heap.peek();
    if (top === undefined || this.free <= 0) return;
    this.cancelTimer = clock.at(top.at, () => this.pump());
  }
}

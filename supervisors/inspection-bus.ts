// The inspection bus in the main thread: every worker's actor records and every supervisor's
// events arrive here and go to each subscriber (the embedding API, a CLI follower, the web
// inspector). Workers' records arrive packed (inspection-batch.ts): a packed subscriber (the
// inspector) takes them as they are, and they are decoded only when an object subscriber
// listens. Workers send actor records only while someone listens: `onActiveChange` tells the
// runtime when the first subscriber arrives and the last one leaves. A subscriber that throws is
// removed, so one bad listener cannot stop the others or the runtime. A worker that dies reports
// no ends for its actors, so the bus keeps each service's live root actors (the records say which)
// and, when its worker has exited, ends them itself: status "stopped", error "worker exited".
// Without that every subscriber (the page, the inspector's journal, the Stately exporter) would
// keep them live for ever.

import { clock } from "./clock.js";
import { packRecord, unbatch, unpackRecord, type PackedBatch, type PackedRecord } from "./inspection-batch.js";
import type { InspectionRecord } from "./inspection-record.js";

export type InspectionListener = (record: InspectionRecord) => void;
export type PackedListener = (record: PackedRecord) => void;

export class InspectionBus {
  private readonly listeners = new Set<InspectionListener>();
  private readonly packedListeners = new Set<PackedListener>();
  /** Per service, the root actors its worker has announced and not yet ended. */
  private readonly liveRoots = new Map<string, Set<string>>();

  constructor(private readonly onActiveChange: (active: boolean) => void = () => {}) {}

  get active(): boolean {
    return this.listeners.size + this.packedListeners.size > 0;
  }

  subscribe(listener: InspectionListener): () => void {
    return this.add(this.listeners, listener);
  }

  subscribePacked(listener: PackedListener): () => void {
    return this.add(this.packedListeners, listener);
  }

  /** A record made in the main thread (a supervisor's event). */
  publish(record: InspectionRecord): void {
    if (this.packedListeners.size > 0) this.deliver(this.packedListeners, packRecord(record));
    this.deliver(this.listeners, record);
  }

  /** A batch from `service`'s worker. */
  publishBatch(service: string, batch: PackedBatch): void {
    let roots = this.liveRoots.get(service);
    if (roots === undefined) this.liveRoots.set(service, (roots = new Set()));
    for (const packed of unbatch(batch)) {
      // Only roots' ends are reported: their children end with them.
      if (packed.kind === "actor" && packed.parent === undefined) roots.add(packed.id);
      else if (packed.kind === "actor-end") roots.delete(packed.id);
      this.deliver(this.packedListeners, packed);
      if (this.listeners.size > 0) this.deliver(this.listeners, unpackRecord(packed));
    }
  }

  /** `service`'s worker has exited: its actors that it did not end are ended here. */
  workerExited(service: string): void {
    const roots = this.liveRoots.get(service);
    this.liveRoots.delete(service);
    if (roots === undefined || !this.active) return;
    const at = clock.now();
    for (const id of roots) this.publish({ kind: "actor-end", at, service, id, status: "stopped", error: "worker exited" });
  }

  private add<T>(set: Set<T>, listener: T): () => void {
    const wasActive = this.active;
    set.add(listener);
    if (!wasActive) this.onActiveChange(true);
    return () => this.remove(set, listener);
  }

  private deliver<T>(set: Set<(item: T) => void>, item: T): void {
    for (const listener of set) {
      try {
        listener(item);
      } catch {
        this.remove(set, listener);
      }
    }
  }

  private remove<T>(set: Set<T>, listener: T): void {
    if (!set.delete(listener) || this.active) return;
    // Workers stop sending; the next subscriber's arrival makes them announce their actors again.
    this.liveRoots.clear();
    this.onActiveChange(false);
  }
}

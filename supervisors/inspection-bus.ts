// The inspection bus in the main thread: every worker's actor records and every supervisor's
// events arrive here and go to each subscriber (the embedding API, a CLI follower, the web
// inspector). Workers send actor records only while someone listens: `onActiveChange` tells the
// runtime when the first subscriber arrives and the last one leaves. A subscriber that throws is
// removed, so one bad listener cannot stop the others or the runtime.

import type { InspectionRecord } from "./inspection-record.js";

export type InspectionListener = (record: InspectionRecord) => void;

export class InspectionBus {
  private readonly listeners = new Set<InspectionListener>();

  constructor(private readonly onActiveChange: (active: boolean) => void = () => {}) {}

  get active(): boolean {
    return this.listeners.size > 0;
  }

  subscribe(listener: InspectionListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.onActiveChange(true);
    return () => this.remove(listener);
  }

  publish(record: InspectionRecord): void {
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch {
        this.remove(listener);
      }
    }
  }

  private remove(listener: InspectionListener): void {
    if (this.listeners.delete(listener) && this.listeners.size === 0) this.onActiveChange(false);
  }
}

// The inspector's memory of the stream, so a page that connects late (or reconnects) sees what is
// going on: the latest layout, each service's latest status, recent supervisor events, every live
// actor's recent records and a bounded history of finished actors. Everything is bounded, so an
// inspector left attached for weeks holds a fixed amount of memory. Frames are kept packed, as
// views of the buffers they came in (a worker's batch); a view keeps its whole buffer alive, so
// once the buffers taken in since the last time pass three times the size of what is kept, the
// kept frames are copied out into one buffer of their own. The bus reports only a root
// actor's end, not its children's (an SMTP session's line reads): children are filed with their
// root when it ends and leave with it, or every session would leave its children live forever.

import type { PackedRecord } from "../../supervisors/inspection-batch.js";
import type { PackedFrame } from "./inspector-frame.js";

export interface JournalLimits {
  /** Records kept per actor (the oldest after its first are dropped). */
  readonly recordsPerActor: number;
  /** Finished actors kept, the most recent. */
  readonly finishedActors: number;
  /** Supervisor events kept, besides each service's latest status. */
  readonly supervisorEvents: number;
  /** Buffers taken in before the kept frames are first copied out of them. */
  readonly copyAfterBytes: number;
}

export const DEFAULT_LIMITS: JournalLimits = { recordsPerActor: 400, finishedActors: 200, supervisorEvents: 500, copyAfterBytes: 16 << 20 };

type ActorRecord = PackedRecord;

export class FrameJournal {
  private layout: PackedFrame | undefined;
  private readonly statuses = new Map<string, PackedFrame>();
  private readonly supervisorEvents: PackedFrame[] = [];
  // Map iteration order is insertion order: live and finished actors stay oldest first.
  private readonly live = new Map<string, ActorRecord[]>();
  private readonly finished = new Map<string, ActorRecord[]>();
  /** The children of each live or finished root. */
  private readonly childrenOf = new Map<string, Set<string>>();
  /** Each child of a finished root: its root, whose records its late records join. */
  private readonly rootOf = new Map<string, string>();
  /** Bytes of the buffers frames came in since the last copy (a buffer counted once per run). */
  private takenIn = 0;
  private lastBuffer: ArrayBufferLike | undefined;
  private copyAt: number;

  constructor(private readonly limits: JournalLimits = DEFAULT_LIMITS) {
    this.copyAt = limits.copyAfterBytes;
  }

  add(frame: PackedFrame): void {
    if (frame.bytes.buffer !== this.lastBuffer) {
      this.lastBuffer = frame.bytes.buffer;
      this.takenIn += this.lastBuffer.byteLength;
    }
    this.file(frame);
    if (this.takenIn > this.copyAt) this.copyOut();
  }

  private file(frame: PackedFrame): void {
    switch (frame.kind) {
      case "layout":
        this.layout = frame;
        return;
      case "supervisor":
        if (frame.event === "status") this.statuses.set(frame.id, frame);
        else pushBounded(this.supervisorEvents, frame, this.limits.supervisorEvents, 0);
        return;
      default:
        this.addActorRecord(frame);
    }
  }

  /** What a newly connected page is sent first: enough to draw the present state. */
  frames(): PackedFrame[] {
    const out: PackedFrame[] = this.layout === undefined ? [] : [this.layout];
    out.push(...this.supervisorEvents, ...this.statuses.values());
    for (const records of this.finished.values()) out.push(...records);
    for (const records of this.live.values()) out.push(...records);
    return out;
  }

  private addActorRecord(record: ActorRecord): void {
    let records = this.live.get(record.id);
    if (records === undefined) {
      // A record for an actor already finished (XState's final snapshot arrives late) joins it.
      const done = this.finished.get(this.rootOf.get(record.id) ?? record.id);
      if (done !== undefined && record.kind !== "actor") {
        pushBounded(done, record, this.limits.recordsPerActor, 1);
        return;
      }
      records = [];
      this.live.set(record.id, records);
    }
    if (record.kind === "actor" && record.parent !== undefined) {
      let children = this.childrenOf.get(record.parent);
      if (children === undefined) this.childrenOf.set(record.parent, (children = new Set()));
      children.add(record.id);
    }
    // The first record (the actor's creation, which names its machine) is always kept.
    pushBounded(records, record, this.limits.recordsPerActor, 1);
    if (record.kind !== "actor-end") return;
    this.live.delete(record.id);
    // The children's records go before the root's end, so a page replaying them ends them too.
    const end = records.pop()!;
    for (const child of this.childrenOf.get(record.id) ?? []) {
      records.push(...(this.live.get(child) ?? []));
      this.live.delete(child);
      this.rootOf.set(child, record.id);
    }
    records.push(end);
    this.finished.set(record.id, records);
    if (this.finished.size > this.limits.finishedActors) this.forget(this.finished.keys().next().value!);
  }

  /** Moves every kept frame into one new buffer, so the buffers they came in can be freed. */
  private copyOut(): void {
    const size = this.frames().reduce((sum, frame) => sum + frame.bytes.length, 0);
    const arena = new Uint8Array(size);
    let at = 0;
    const copy = <T extends PackedFrame>(frame: T): T => {
      arena.set(frame.bytes, at);
      at += frame.bytes.length;
      return { ...frame, bytes: arena.subarray(at - frame.bytes.length, at) };
    };
    const copyAll = <T extends PackedFrame>(list: T[]): void => {
      for (let i = 0; i < list.length; i++) list[i] = copy(list[i]!);
    };
    if (this.layout !== undefined) this.layout = copy(this.layout);
    for (const [service, frame] of this.statuses) this.statuses.set(service, copy(frame));
    copyAll(this.supervisorEvents);
    for (const list of this.live.values()) copyAll(list);
    for (const list of this.finished.values()) copyAll(list);
    this.lastBuffer = arena.buffer;
    this.takenIn = size;
    // Another copy only once three times as much has come in: copying stays a fraction of taking in.
    this.copyAt = size + Math.max(this.limits.copyAfterBytes, 3 * size);
  }

  private forget(root: string): void {
    this.finished.delete(root);
    for (const child of this.childrenOf.get(root) ?? []) this.rootOf.delete(child);
    this.childrenOf.delete(root);
  }
}

function pushBounded<T>(list: T[], item: T, limit: number, keepHead: number): void {
  list.push(item);
  if (list.length > limit) list.splice(keepHead, 1);
}

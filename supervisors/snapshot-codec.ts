// Persisted actor snapshots on disk and on the wire: msgpackr, with structured-clone mode so
// Map, Set, Date and Error in a context survive the round trip (reference/runtime.md §2.4).

// "msgpackr/pack": the Packr without the native string extractor every worker would otherwise
// load (see inspection-batch.ts); a worker unpacks a snapshot only to restore an actor.
import { Packr } from "msgpackr/pack";
import type { Snapshot } from "xstate";

const packr = new Packr({ structuredClone: true, moreTypes: true });

export function packSnapshot(snapshot: Snapshot<unknown>): Uint8Array {
  // A fresh exact-size copy: msgpackr's result may share a large internal buffer.
  return new Uint8Array(packr.pack(snapshot));
}

export function unpackSnapshot(bytes: Uint8Array): Snapshot<unknown> {
  return packr.unpack(bytes) as Snapshot<unknown>;
}

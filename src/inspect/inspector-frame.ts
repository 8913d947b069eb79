// What the inspector streams, records and replays: the inspection bus's records plus a `layout`
// frame naming the supervision tree's branches, each packed with msgpackr. On the WebSocket a
// message is one packed array of frames (the server batches them); a recording is a file of
// packed frames one after another, so it can be appended to as the runtime runs and read back
// with `unpackMultiple`.

import { Packr } from "msgpackr";
import type { InspectionRecord } from "../../supervisors/inspection-record.js";
import type { Branch } from "../runtime/tree-layout.js";

export type InspectorFrame =
  | InspectionRecord
  | { readonly kind: "layout"; readonly at: number; readonly root: string; readonly branches: readonly Branch[] };

// Plain msgpack (no record extension): the page decodes it with msgpackr's browser build, and
// any msgpack reader can read a recording.
const packr = new Packr({ useRecords: false });

export function packFrames(frames: readonly InspectorFrame[]): Uint8Array {
  return packr.pack(frames);
}

export function unpackFrames(bytes: Uint8Array): InspectorFrame[] {
  return packr.unpack(bytes) as InspectorFrame[];
}

export function packFrame(frame: InspectorFrame): Uint8Array {
  return packr.pack(frame);
}

/** Every frame of a recording; a record cut short by a crash ends the list. */
export function unpackRecording(bytes: Uint8Array): InspectorFrame[] {
  const frames: InspectorFrame[] = [];
  try {
    packr.unpackMultiple(bytes, (frame: unknown) => {
      frames.push(frame as InspectorFrame);
    });
  } catch {
    // msgpackr throws on the truncated last value: keep everything before it.
  }
  return frames;
}

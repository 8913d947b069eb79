// What the inspector streams, records and replays: the inspection bus's records plus a `layout`
// frame naming the supervision tree's branches, each packed with msgpackr. The main thread
// handles them packed (`PackedFrame`: the bytes and the fields the journal files them by), as
// workers made them. On the WebSocket a message is one msgpack array of frames, made by joining
// their bytes behind an array header; a recording is a file of packed frames one after another,
// so it can be appended to as the runtime runs and read back with `unpackMultiple`.

import { inspectionPackr as packr, packRecord, type PackedRecord } from "../../supervisors/inspection-batch.js";
import type { InspectionRecord } from "../../supervisors/inspection-record.js";
import type { Branch } from "../runtime/tree-layout.js";

export type LayoutFrame = { readonly kind: "layout"; readonly at: number; readonly root: string; readonly branches: readonly Branch[] };

export type InspectorFrame = InspectionRecord | LayoutFrame;

export type PackedFrame = PackedRecord | { readonly kind: "layout"; readonly bytes: Uint8Array };

/** A frame made in the main thread, packed; `bytes` when it is packed already (a recording's). */
export function packFrame(frame: InspectorFrame, bytes: Uint8Array = packr.pack(frame)): PackedFrame {
  return frame.kind === "layout" ? { kind: "layout", bytes } : packRecord(frame, bytes);
}

const ARRAY32 = 0xdd;

/** One WebSocket message: the frames as one msgpack array, their bytes joined, none decoded. */
export function joinFrames(frames: readonly PackedFrame[]): Uint8Array {
  let size = 5;
  for (const frame of frames) size += frame.bytes.length;
  const out = new Uint8Array(size);
  out[0] = ARRAY32;
  new DataView(out.buffer).setUint32(1, frames.length);
  let at = 5;
  for (const frame of frames) {
    out.set(frame.bytes, at);
    at += frame.bytes.length;
  }
  return out;
}

export function unpackFrames(bytes: Uint8Array): InspectorFrame[] {
  return packr.unpack(bytes) as InspectorFrame[];
}

/** Every frame of a recording with its bytes; a record cut short by a crash ends the list. */
export function splitRecording(bytes: Uint8Array): PackedFrame[] {
  const frames: PackedFrame[] = [];
  try {
    packr.unpackMultiple(bytes, (frame: unknown, start?: number, end?: number) => {
      frames.push(packFrame(frame as InspectorFrame, bytes.subarray(start, end)));
    });
  } catch {
    // msgpackr throws on the truncated last value: keep everything before it.
  }
  return frames;
}

/** Every frame of a recording, decoded. */
export function unpackRecording(bytes: Uint8Array): InspectorFrame[] {
  return splitRecording(bytes).map((frame) => packr.unpack(frame.bytes) as InspectorFrame);
}

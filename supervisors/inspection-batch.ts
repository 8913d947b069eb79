// Inspection records packed where they are made. A worker packs a batch of records with msgpackr
// into one buffer that is transferred (not cloned) to the main thread, with the few fields the
// inspector's journal files a record by (kind, id, parent) and where each record ends. So the
// main thread files, records and streams records without decoding them: the page and the
// recording get the very bytes the worker made. Decoding happens only for a subscriber that
// wants objects.

// "msgpackr/pack" is, on Node, msgpackr's whole Packr/Unpackr without the entry that also loads
// the native string extractor (msgpackr-extract) and the stream classes: every worker loads this
// module, and that entry costs each one some 0.5 MB of heap. The extractor only speeds up
// unpacking, which a worker does not do here; the main thread loads it through its own imports.
import { Packr } from "msgpackr/pack";
import type { InspectionRecord, SupervisorEventKind } from "./inspection-record.js";

// Plain msgpack (no record extension): the page decodes it with msgpackr's browser build, and
// any msgpack reader can read a recording.
export const inspectionPackr = new Packr({ useRecords: false });
const packr = inspectionPackr;

/** One packed record and what the journal needs to file it, without decoding it. */
export interface PackedRecord {
  readonly kind: InspectionRecord["kind"];
  /** The actor's id; a supervisor record's service. */
  readonly id: string;
  /** An invoked or spawned actor's parent, on its `actor` record. */
  readonly parent?: string;
  /** A supervisor record's event (each service's latest `status` replaces the one before). */
  readonly event?: SupervisorEventKind;
  readonly bytes: Uint8Array;
}

/** What a worker posts: its records packed back to back, and per record its fields and end. */
export interface PackedBatch {
  readonly buffer: ArrayBuffer;
  /** Per record: kind, id, and parent or event ("" when none). */
  readonly fields: readonly string[];
  /** Per record: the offset in `buffer` where it ends. */
  readonly ends: readonly number[];
}

const FIELDS = 3;

function fieldsOf(record: InspectionRecord): [InspectionRecord["kind"], string, string] {
  if (record.kind === "supervisor") return [record.kind, record.service, record.event];
  return [record.kind, record.id, record.kind === "actor" ? (record.parent ?? "") : ""];
}

function packedRecord(kind: string, id: string, extra: string, bytes: Uint8Array): PackedRecord {
  const record = { kind: kind as InspectionRecord["kind"], id, bytes };
  if (extra === "") return record;
  return kind === "supervisor" ? { ...record, event: extra as SupervisorEventKind } : { ...record, parent: extra };
}

/** A record packed on its own (the main thread's supervisor records), or filed with its bytes. */
export function packRecord(record: InspectionRecord, bytes: Uint8Array = packr.pack(record)): PackedRecord {
  const [kind, id, extra] = fieldsOf(record);
  return packedRecord(kind, id, extra, bytes);
}

export function unpackRecord(packed: PackedRecord): InspectionRecord {
  return packr.unpack(packed.bytes) as InspectionRecord;
}

/**
 * The worker's side: records in, one transferable batch out. The records are packed in one call
 * per batch, as one msgpack array (a pack call has a fixed cost that, paid per record, cost more
 * than all the rest of the inspection), and the array's elements are then found by their lengths.
 */
export class BatchPacker {
  private records: InspectionRecord[] = [];

  get size(): number {
    return this.records.length;
  }

  add(record: InspectionRecord): void {
    this.records.push(record);
  }

  /** The batch so far (its buffer is to be transferred), or undefined when empty. */
  take(): PackedBatch | undefined {
    if (this.records.length === 0) return undefined;
    const records = this.records;
    this.records = [];
    // A copy of its own (msgpackr's result is a view of a buffer it goes on using), to transfer.
    const packed = new Uint8Array(packr.pack(records));
    const fields: string[] = [];
    for (const record of records) fields.push(...fieldsOf(record));
    return { buffer: packed.buffer, fields, ends: elementEnds(packed) };
  }
}

/** The main thread's side: a batch's records as views of its buffer. */
export function unbatch(batch: PackedBatch): PackedRecord[] {
  const records: PackedRecord[] = [];
  let start = arrayHeaderLength(new Uint8Array(batch.buffer));
  for (let i = 0; i < batch.ends.length; i++) {
    const end = batch.ends[i]!;
    const f = i * FIELDS;
    records.push(packedRecord(batch.fields[f]!, batch.fields[f + 1]!, batch.fields[f + 2]!, new Uint8Array(batch.buffer, start, end - start)));
    start = end;
  }
  return records;
}

// A msgpack value's extent, read from its type bytes and lengths without decoding it.

function arrayHeaderLength(bytes: Uint8Array): number {
  const type = bytes[0]!;
  if (type >= 0x90 && type <= 0x9f) return 1;
  if (type === 0xdc) return 3;
  if (type === 0xdd) return 5;
  throw new Error(`inspection batch: not a msgpack array (type 0x${type.toString(16)})`);
}

/** Where each element of the msgpack array in `bytes` ends. */
function elementEnds(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = arrayHeaderLength(bytes);
  const count = header === 1 ? bytes[0]! & 0x0f : header === 3 ? view.getUint16(1) : view.getUint32(1);
  const ends: number[] = [];
  let at = header;
  for (let i = 0; i < count; i++) {
    // Values still to skip before this element ends: a map or array adds its items.
    let pending = 1;
    while (pending > 0) {
      pending--;
      const type = bytes[at]!;
      if (type <= 0x7f || type >= 0xe0) {
        at += 1; // fixint
      } else if (type <= 0x8f) {
        pending += 2 * (type & 0x0f); // fixmap
        at += 1;
      } else if (type <= 0x9f) {
        pending += type & 0x0f; // fixarray
        at += 1;
      } else if (type <= 0xbf) {
        at += 1 + (type & 0x1f); // fixstr
      } else {
        at += fixedLength(type, view, at);
        if (type === 0xdc) pending += view.getUint16(at - 2);
        else if (type === 0xdd) pending += view.getUint32(at - 4);
        else if (type === 0xde) pending += 2 * view.getUint16(at - 2);
        else if (type === 0xdf) pending += 2 * view.getUint32(at - 4);
      }
    }
    ends.push(at);
  }
  if (at !== bytes.length) throw new Error(`inspection batch: ${bytes.length - at} bytes after the array`);
  return ends;
}

/** The length of a value of `type` (0xc0–0xdf) at `at`, its contents included but not its items. */
function fixedLength(type: number, view: DataView, at: number): number {
  switch (type) {
    case 0xc0: // nil, false, true
    case 0xc2:
    case 0xc3:
      return 1;
    case 0xcc: // uint8, int8
    case 0xd0:
      return 2;
    case 0xcd: // uint16, int16
    case 0xd1:
      return 3;
    case 0xca: // float32, uint32, int32
    case 0xce:
    case 0xd2:
      return 5;
    case 0xcb: // float64, uint64, int64
    case 0xcf:
    case 0xd3:
      return 9;
    case 0xd4: // fixext 1, 2, 4, 8, 16
      return 3;
    case 0xd5:
      return 4;
    case 0xd6:
      return 6;
    case 0xd7:
      return 10;
    case 0xd8:
      return 18;
    case 0xc4: // bin8, str8
    case 0xd9:
      return 2 + view.getUint8(at + 1);
    case 0xc5: // bin16, str16
    case 0xda:
      return 3 + view.getUint16(at + 1);
    case 0xc6: // bin32, str32
    case 0xdb:
      return 5 + view.getUint32(at + 1);
    case 0xc7: // ext8, ext16, ext32
      return 3 + view.getUint8(at + 1);
    case 0xc8:
      return 4 + view.getUint16(at + 1);
    case 0xc9:
      return 6 + view.getUint32(at + 1);
    case 0xdc: // array16, array32, map16, map32: their items follow
    case 0xde:
      return 3;
    case 0xdd:
    case 0xdf:
      return 5;
    default:
      throw new Error(`inspection batch: msgpack type 0x${type.toString(16)} at ${at}`);
  }
}

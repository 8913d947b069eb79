// Records packed in a worker reach the main thread as one transferred buffer: the bus hands them
// on packed to the inspector, decodes them only for object subscribers, and a page's message
// made by joining their bytes decodes to the very records the worker made. When a worker exits,
// the bus ends the actors it left live.

import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { BatchPacker, type PackedBatch, type PackedRecord } from "../../supervisors/inspection-batch.js";
import { InspectionBus } from "../../supervisors/inspection-bus.js";
import type { InspectionRecord } from "../../supervisors/inspection-record.js";
import { joinFrames, unpackFrames } from "../../src/inspect/inspector-frame.js";

const base = { at: 1_700_000_000_000, service: "smtpd" };
const records: InspectionRecord[] = [
  { kind: "actor", ...base, id: "smtpd/conn/1", machine: "smtp-session" },
  { kind: "actor", ...base, id: "smtpd/conn/1/check", parent: "smtpd/conn/1" },
  { kind: "event", ...base, id: "smtpd/conn/1", event: { type: "LINE", text: "x".repeat(20_000) }, source: "smtpd/conn/1/check" },
  { kind: "snapshot", ...base, id: "smtpd/conn/1", value: { commands: "reading" }, status: "active", context: { helo: "client.test", n: 3 } },
  // Every msgpack form the batch's reader must step over: ints of each size and sign, floats,
  // nil and booleans, undefined and dates (extensions), strings and arrays and maps of each size.
  {
    kind: "event",
    ...base,
    id: "smtpd/conn/1",
    event: {
      type: "MIXED",
      ints: [0, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32, 2 ** 53 - 1, -1, -32, -33, -128, -129, -32_768, -32_769, -(2 ** 31) - 1],
      floats: [0.5, -1.25, 1e300],
      flags: [true, false, null, undefined],
      when: new Date(1_700_000_000_123),
      strings: ["", "é", "x".repeat(31), "y".repeat(32), "z".repeat(255), "w".repeat(256), "v".repeat(70_000)],
      long: Array.from({ length: 20 }, (_, i) => i),
      wide: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, { nested: [i, { deep: String(i) }] }])),
    },
  },
  { kind: "actor-end", ...base, id: "smtpd/conn/1", status: "error", error: "boom" },
];

/** The batch as the main thread gets it: posted across a real MessagePort, its buffer transferred. */
function postBatch(batch: PackedBatch): PackedBatch {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(batch, [batch.buffer]);
  expect(batch.buffer.byteLength).toBe(0);
  const received = receiveMessageOnPort(port2)!.message as PackedBatch;
  port1.close();
  return received;
}

describe("packed inspection batches", () => {
  it("cross a thread as one buffer and reach packed and object subscribers intact", () => {
    const packer = new BatchPacker();
    for (const record of records) packer.add(record);
    expect(packer.size).toBe(records.length);
    const batch = postBatch(packer.take()!);
    expect(packer.take()).toBeUndefined();

    const changes: boolean[] = [];
    const bus = new InspectionBus((active) => changes.push(active));
    const packed: PackedRecord[] = [];
    const stopPacked = bus.subscribePacked((record) => packed.push(record));
    bus.publishBatch("smtpd", batch);

    expect(packed.map(({ kind, id, parent }) => ({ kind, id, parent }))).toEqual(
      records.map((r) => ({ kind: r.kind, id: "id" in r ? r.id : r.service, parent: r.kind === "actor" ? r.parent : undefined })),
    );
    expect(unpackFrames(joinFrames(packed))).toEqual(records);

    // More than 15 records: the batch's array has a 16-bit header.
    const many = [...records, ...records, ...records];
    const objects: InspectionRecord[] = [];
    const stopObjects = bus.subscribe((record) => objects.push(record));
    bus.publishBatch("smtpd", postBatch(packAll(many)));
    expect(objects).toEqual(many);

    // A supervisor's record, made in the main thread, is packed for the packed subscriber.
    const status: InspectionRecord = { kind: "supervisor", ...base, event: "status", detail: { up: true } };
    bus.publish(status);
    expect(packed.at(-1)).toMatchObject({ kind: "supervisor", id: "smtpd", event: "status" });
    expect(unpackFrames(joinFrames([packed.at(-1)!]))).toEqual([status]);
    expect(objects.at(-1)).toEqual(status);

    stopPacked();
    stopObjects();
    expect(changes).toEqual([true, false]);
  });
});

describe("a worker's exit", () => {
  it("ends the root actors its worker left live, once, and only that service's", () => {
    const bus = new InspectionBus();
    const seen: InspectionRecord[] = [];
    bus.subscribe((record) => seen.push(record));
    const pop3 = { at: base.at, service: "pop3d" };
    bus.publishBatch(
      "smtpd",
      packAll([
        { kind: "actor", ...base, id: "smtpd/conn/1", machine: "smtp-session" },
        { kind: "actor", ...base, id: "smtpd/conn/1/check", parent: "smtpd/conn/1" },
        { kind: "actor", ...base, id: "smtpd/conn/2", machine: "smtp-session" },
        { kind: "actor-end", ...base, id: "smtpd/conn/2", status: "done" },
        { kind: "actor", ...base, id: "smtpd/conn/3", machine: "smtp-session" },
      ]),
    );
    bus.publishBatch("pop3d", packAll([{ kind: "actor", ...pop3, id: "pop3d/conn/1", machine: "pop3-session" }]));
    seen.length = 0;

    bus.workerExited("smtpd");
    expect(seen.map((record) => (record.kind === "actor-end" ? [record.service, record.id, record.status, record.error] : record.kind))).toEqual([
      ["smtpd", "smtpd/conn/1", "stopped", "worker exited"],
      ["smtpd", "smtpd/conn/3", "stopped", "worker exited"],
    ]);
    bus.workerExited("smtpd"); // the restarted worker's actors are its own: nothing left of the old one
    expect(seen).toHaveLength(2);
  });
});

function packAll(list: readonly InspectionRecord[]): PackedBatch {
  const packer = new BatchPacker();
  for (const record of list) packer.add(record);
  return packer.take()!;
}

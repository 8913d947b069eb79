// The journal stays bounded when actors have children: the bus reports only a root's end, so the
// journal must end a root's children with it (an SMTP session's line reads once stayed live
// forever, one set per session), keep their records with the root's, and file a child's late
// record there too. It keeps frames as views of the buffers they came in, and must copy them out
// before those buffers pile up.

import { describe, expect, it } from "vitest";
import { FrameJournal } from "../../src/inspect/frame-journal.js";
import { joinFrames, packFrame, unpackFrames, type InspectorFrame, type PackedFrame } from "../../src/inspect/inspector-frame.js";

const base = { at: 1, service: "smtpd" };

function session(journal: FrameJournal, root: string): void {
  const child = `${root}/0.reading`;
  const add = (frame: InspectorFrame): void => journal.add(packFrame(frame));
  add({ kind: "actor", ...base, id: root, machine: "smtp-session" });
  add({ kind: "actor", ...base, id: child, parent: root });
  add({ kind: "snapshot", ...base, id: child, value: "reading", status: "active", context: {} });
  add({ kind: "actor-end", ...base, id: root, status: "done" });
  add({ kind: "event", ...base, id: child, event: { type: "late" } });
}

// Decoded as a page decodes them: the journal's frames joined into one message.
const ids = (journal: FrameJournal): string[] =>
  unpackFrames(joinFrames(journal.frames())).map((f) => ("id" in f ? `${f.kind} ${f.id}` : f.kind));

describe("the frame journal", () => {
  it("ends a root's children with it and forgets them with it", () => {
    const journal = new FrameJournal({ recordsPerActor: 400, finishedActors: 2, supervisorEvents: 10, copyAfterBytes: 1 << 20 });
    for (const n of [1, 2, 3]) session(journal, `conn/${n}`);
    // conn/1 and its child are gone; each kept root ends after its child's records, late one included.
    expect(ids(journal)).toEqual([2, 3].flatMap((n) => [
      `actor conn/${n}`,
      `actor conn/${n}/0.reading`,
      `snapshot conn/${n}/0.reading`,
      `actor-end conn/${n}`,
      `event conn/${n}/0.reading`,
    ]));
  });
});

describe("the journal's memory", () => {
  it("copies what it keeps out of the batches it came in, once it has taken in enough of them", () => {
    const copyAfterBytes = 256 * 1024;
    const batchBytes = 64 * 1024;
    const journal = new FrameJournal({ recordsPerActor: 400, finishedActors: 2, supervisorEvents: 10, copyAfterBytes });
    // Each session arrives in a batch buffer of its own, as a worker's records do.
    const batchOf = (frames: readonly InspectorFrame[]): PackedFrame[] => {
      const buffer = new Uint8Array(batchBytes);
      let at = 0;
      return frames.map((frame) => {
        const packed = packFrame(frame);
        buffer.set(packed.bytes, at);
        at += packed.bytes.length;
        return { ...packed, bytes: buffer.subarray(at - packed.bytes.length, at) };
      });
    };
    const sessionFrames = (n: number): InspectorFrame[] => [
      { kind: "actor", ...base, id: `conn/${n}`, machine: "smtp-session" },
      { kind: "actor-end", ...base, id: `conn/${n}`, status: "done" },
    ];
    // A long-lived actor (a queued message) has a record in every batch, among short sessions':
    // as views, its records would hold every batch they came in.
    const queued = (n: number): InspectorFrame => ({ kind: "snapshot", ...base, service: "send", id: "send/msg/1", value: "waiting", status: "active", context: { n } });
    const held = (): number =>
      [...new Set(journal.frames().map((f) => f.bytes.buffer))].reduce((sum, buffer) => sum + buffer.byteLength, 0);

    journal.add(packFrame({ kind: "actor", ...base, service: "send", id: "send/msg/1", machine: "queue-entry" }));
    let most = 0;
    for (let n = 1; n <= 60; n++) {
      for (const frame of batchOf([queued(n), ...sessionFrames(n)])) journal.add(frame);
      most = Math.max(most, held());
    }
    // 60 batches (3.75 MB) came in; what the journal holds never passes the threshold and a batch.
    expect(most).toBeLessThanOrEqual(copyAfterBytes + batchBytes);
    const frames = unpackFrames(joinFrames(journal.frames()));
    expect(frames.filter((f) => f.kind === "snapshot").map((f) => (f.kind === "snapshot" ? f.context : undefined))).toEqual(
      Array.from({ length: 60 }, (_, i) => ({ n: i + 1 })),
    );
    expect(frames.filter((f) => "id" in f && f.id.startsWith("conn/"))).toEqual([59, 60].flatMap(sessionFrames));
  });
});

// The journal stays bounded when actors have children: the bus reports only a root's end, so the
// journal must end a root's children with it (an SMTP session's line reads once stayed live
// forever, one set per session), keep their records with the root's, and file a child's late
// record there too.

import { describe, expect, it } from "vitest";
import { FrameJournal } from "../../src/inspect/frame-journal.js";
import type { InspectorFrame } from "../../src/inspect/inspector-frame.js";

const base = { at: 1, service: "smtpd" };

function session(journal: FrameJournal, root: string): void {
  const child = `${root}/0.reading`;
  journal.add({ kind: "actor", ...base, id: root, machine: "smtp-session" });
  journal.add({ kind: "actor", ...base, id: child, parent: root });
  journal.add({ kind: "snapshot", ...base, id: child, value: undefined, status: "active", context: undefined });
  journal.add({ kind: "actor-end", ...base, id: root, status: "done" });
  journal.add({ kind: "snapshot", ...base, id: child, value: undefined, status: "stopped", context: undefined });
}

const ids = (frames: readonly InspectorFrame[]): string[] => frames.map((f) => ("id" in f ? `${f.kind} ${f.id}` : f.kind));

describe("the frame journal", () => {
  it("ends a root's children with it and forgets them with it", () => {
    const journal = new FrameJournal({ recordsPerActor: 400, finishedActors: 2, supervisorEvents: 10 });
    for (const n of [1, 2, 3]) session(journal, `conn/${n}`);
    // conn/1 and its child are gone; each kept root ends after its child's records, late one included.
    expect(ids(journal.frames())).toEqual([2, 3].flatMap((n) => [
      `actor conn/${n}`,
      `actor conn/${n}/0.reading`,
      `snapshot conn/${n}/0.reading`,
      `actor-end conn/${n}`,
      `snapshot conn/${n}/0.reading`,
    ]));
  });
});

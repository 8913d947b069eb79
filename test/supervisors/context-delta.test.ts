// Snapshot records carry an actor's whole context only on its first snapshot while inspecting,
// every FULL_CONTEXT_EVERY-th after, and when it cannot be told key by key; in between only the
// keys whose value changed, redacted like the whole. Checked on ContextDeltas alone and through
// a real actor host, whose records, folded as the page and the Stately exporter fold them, must
// give the very contexts whole records would have carried.

import { assign, setup } from "xstate";
import { describe, expect, it } from "vitest";
import { ActorHost } from "../../supervisors/actor-host.js";
import { ContextDeltas, FULL_CONTEXT_EVERY } from "../../supervisors/context-delta.js";
import type { InspectionRecord } from "../../supervisors/inspection-record.js";
import { MAX_ITEMS, redact } from "../../supervisors/redact.js";
import { foldContext, type FoldedContext } from "../../src/inspect/context-fold.js";

// A session's shape in small: a frozen settings object shared by every session, a client name,
// and credentials under a key that names a secret.
const settings = Object.freeze({ greeting: "mx.test", databytes: 0, limits: Object.freeze({ recipients: 100 }) });
const session = setup({
  types: {
    context: {} as { settings: typeof settings; helo: string; pings: number; authStep: { user: string; password: string } | undefined },
    events: {} as { type: "HELO"; name: string } | { type: "AUTH"; password: string } | { type: "PING" } | { type: "NOOP" },
  },
}).createMachine({
  id: "delta-session",
  context: { settings, helo: "", pings: 0, authStep: undefined },
  initial: "reading",
  states: {
    reading: {
      on: {
        HELO: { actions: assign({ helo: ({ event }) => event.name }) },
        AUTH: { actions: assign({ authStep: ({ event }) => ({ user: "alice", password: event.password }) }) },
        PING: { actions: assign({ pings: ({ context }) => context.pings + 1 }) },
        // A transition with no assign: the same context object.
        NOOP: { target: "reading", reenter: true },
      },
    },
  },
});

type Snapshot = Extract<InspectionRecord, { kind: "snapshot" }>;

/** A watched host whose snapshot records come with the whole redacted context the actor had. */
function watched() {
  const snapshots: Snapshot[] = [];
  const truths: unknown[] = [];
  const host = new ActorHost({
    service: "smtpd",
    publish: (record) => {
      if (record.kind !== "snapshot") return;
      snapshots.push(record);
      // XState sets the actor's snapshot before it inspects it.
      truths.push(redact(host.get(record.id)?.getSnapshot().context));
    },
  });
  host.inspecting = true;
  return { host, snapshots, truths };
}

function fold(records: readonly Snapshot[]): FoldedContext[] {
  const out: FoldedContext[] = [];
  for (const record of records) out.push(foldContext(out.at(-1), record));
  return out;
}

describe("snapshot contexts", () => {
  it("carry the whole context first, then only the keys that changed, a secret's redacted", () => {
    const { host, snapshots } = watched();
    const actor = host.spawn("conn", session);
    actor.send({ type: "HELO", name: "client.test" });
    actor.send({ type: "AUTH", password: "hunter2" });
    actor.send({ type: "NOOP" });
    actor.send({ type: "PING" });

    expect(snapshots[0]).toMatchObject({ context: { settings, helo: "", pings: 0, authStep: undefined } });
    const rest = snapshots.slice(1).map(({ context, changes, removed }) => ({ context, changes, removed }));
    expect(rest).toEqual([
      { context: undefined, changes: { helo: "client.test" }, removed: undefined },
      { context: undefined, changes: { authStep: "[redacted]" }, removed: undefined },
      { context: undefined, changes: undefined, removed: undefined },
      { context: undefined, changes: { pings: 1 }, removed: undefined },
    ]);
    for (const record of snapshots.slice(1)) expect(Object.keys(record)).not.toContain("context");
    expect(JSON.stringify(snapshots)).not.toContain("hunter2");
  });

  it("carry the whole context on every FULL_CONTEXT_EVERY-th snapshot, and on the first after inspection is turned on again", () => {
    const { host, snapshots } = watched();
    const actor = host.spawn("conn", session);
    for (let i = 0; i < 2 * FULL_CONTEXT_EVERY + 5; i++) actor.send({ type: "PING" });
    const whole = snapshots.flatMap((record, index) => ("context" in record ? [index] : []));
    expect(whole).toEqual([0, FULL_CONTEXT_EVERY, 2 * FULL_CONTEXT_EVERY]);
    expect(snapshots[FULL_CONTEXT_EVERY]).toMatchObject({ context: { settings, pings: FULL_CONTEXT_EVERY } });

    host.inspecting = false;
    actor.send({ type: "PING" });
    snapshots.length = 0;
    host.inspecting = true;
    actor.send({ type: "PING" });
    // The announcement of the live actor, whole, then a change.
    expect(snapshots.map((record) => ("context" in record ? "whole" : record.changes))).toEqual(["whole", { pings: 2 * FULL_CONTEXT_EVERY + 7 }]);
  });

  it("folded back, give the contexts whole records would, through an off and on", () => {
    const { host, snapshots, truths } = watched();
    const actor = host.spawn("conn", session);
    const events = [{ type: "HELO", name: "a.test" }, { type: "AUTH", password: "hunter2" }, { type: "NOOP" }, { type: "PING" }] as const;
    for (let i = 0; i < 150; i++) {
      actor.send(events[i % events.length]!);
      if (i === 90) {
        host.inspecting = false;
        actor.send({ type: "HELO", name: "unseen.test" });
        host.inspecting = true;
      }
    }
    expect(snapshots.length).toBeGreaterThan(2 * FULL_CONTEXT_EVERY);
    const folded = fold(snapshots);
    expect(folded.map((f) => f.context)).toEqual(truths);
    expect(folded.every((f) => f.whole)).toBe(true);
  });
});

describe("ContextDeltas", () => {
  const actor = {};

  it("tells added, changed and removed keys, and the same context as unchanged", () => {
    const deltas = new ContextDeltas();
    const first = { a: 1, token: "t1", gone: true, same: settings };
    expect(deltas.fields(actor, first)).toEqual({ context: { a: 1, token: "[redacted]", gone: true, same: settings } });
    expect(deltas.fields(actor, first)).toEqual({});
    const second = { a: 2, token: "t2", same: settings, added: undefined };
    const fields = deltas.fields(actor, second);
    expect(fields).toEqual({ changes: { a: 2, token: "[redacted]", added: undefined }, removed: ["gone"] });
    expect(Object.keys(fields.changes!)).toEqual(["a", "token", "added"]);
    // Another actor is another history.
    expect(deltas.fields({}, second)).toHaveProperty("context");
    deltas.reset();
    expect(deltas.fields(actor, second)).toHaveProperty("context");
  });

  it("sends a context whole when it is not a plain object, or has more keys than a whole one shows", () => {
    const deltas = new ContextDeltas();
    expect(deltas.fields(actor, { a: 1 })).toEqual({ context: { a: 1 } });
    expect(deltas.fields(actor, undefined)).toEqual({ context: undefined });
    expect(deltas.fields(actor, { a: 1 })).toEqual({ context: { a: 1 } });
    const many = Object.fromEntries(Array.from({ length: MAX_ITEMS + 1 }, (_, i) => [`k${i}`, i]));
    const whole = deltas.fields(actor, many);
    expect(whole).toHaveProperty("context");
    expect((whole.context as Record<string, unknown>)["…"]).toBe("more keys");
    // Back to as many keys as a whole context shows: whole again, as the reader's fold lacks
    // the keys the cut-short one did not show; after that, changes.
    const { k0, ...fewer } = many;
    expect(k0).toBe(0);
    expect(deltas.fields(actor, fewer)).toEqual({ context: fewer });
    expect(deltas.fields(actor, { ...fewer, k1: -1 })).toEqual({ changes: { k1: -1 } });
  });
});

import { describe, expect, it } from "vitest";
import { ActorHost } from "../../supervisors/actor-host.js";
import type { InspectionRecord } from "../../supervisors/inspection-record.js";
import { sleepUntil } from "../../supervisors/sleep-until.js";
import { toySession } from "../fixtures/machines/toy-session.js";

const toy = toySession.provide({ actors: { sleepUntil } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("actor host", () => {
  it("an actor that throws is stopped and reported; 100 siblings carry on", () => {
    const failures: string[] = [];
    const host = new ActorHost({ service: "smtpd", onFailure: (id) => failures.push(id) });
    const siblings = Array.from({ length: 100 }, () => host.spawn("conn", toy));
    const victim = host.spawn("conn", toy);
    for (const actor of siblings) actor.send({ type: "PING" });
    victim.send({ type: "BOOM" });
    for (const actor of siblings) actor.send({ type: "PING" });
    expect(failures).toEqual(["smtpd/conn/101"]);
    expect(host.get("smtpd/conn/101")).toBeUndefined();
    expect(host.size).toBe(100);
    for (const actor of siblings) {
      expect(actor.getSnapshot().status).toBe("active");
      expect(actor.getSnapshot().context.pings).toBe(2);
    }
  });

  it("gives stable ids, publishes records only while inspecting, and redacts secrets", async () => {
    const records: InspectionRecord[] = [];
    const host = new ActorHost({ service: "smtpd", prefix: "smtpd:2525", publish: (r) => records.push(r) });
    const unseen = host.spawn("conn", toy, { input: { password: "hunter2" } });
    unseen.send({ type: "PING" });
    unseen.send({ type: "QUIT" });
    await Promise.resolve();
    expect(records).toHaveLength(0);
    host.inspecting = true;
    const actor = host.spawn("conn", toy, { key: 17, input: { password: "hunter2" } });
    actor.send({ type: "PING" });
    actor.send({ type: "QUIT" });
    await Promise.resolve();
    const ids = new Set(records.map((r) => ("id" in r ? r.id : "")));
    expect([...ids]).toEqual(["smtpd:2525/conn/17"]);
    expect(records.map((r) => r.kind)).toEqual(expect.arrayContaining(["actor", "event", "snapshot", "actor-end"]));
    expect(records[0]).toMatchObject({ kind: "actor", id: "smtpd:2525/conn/17", machine: "toy" });
    // The first snapshot carries the whole context; the next ones only the keys that changed.
    const snapshots = records.filter((r) => r.kind === "snapshot");
    expect(snapshots[0]).toMatchObject({ value: "idle", context: { pings: 0, password: "[redacted]", wakeAt: 0 } });
    expect(snapshots[1]).toEqual(expect.objectContaining({ value: "idle", changes: { pings: 1 } }));
    expect(snapshots[1]).not.toHaveProperty("context");
    expect(JSON.stringify(records)).not.toContain("hunter2");
    expect(records.at(-1)).toMatchObject({ kind: "actor-end", status: "done" });
  });

  it("inspection turned on later announces the live actors as they are, then follows them; off detaches it", async () => {
    const records: InspectionRecord[] = [];
    const host = new ActorHost({ service: "smtpd", publish: (r) => records.push(r) });
    const actor = host.spawn("conn", toy);
    actor.send({ type: "PING" });
    actor.send({ type: "PING" });
    expect(records).toHaveLength(0);

    host.inspecting = true;
    expect(records).toEqual([
      { kind: "actor", at: expect.any(Number), service: "smtpd", id: "smtpd/conn/1", machine: "toy" },
      expect.objectContaining({ kind: "snapshot", id: "smtpd/conn/1", value: "idle", context: expect.objectContaining({ pings: 2 }) }),
    ]);
    records.length = 0;
    actor.send({ type: "PING" });
    expect(records.map((r) => r.kind)).toEqual(["event", "snapshot"]);
    expect(records[1]).toMatchObject({ changes: { pings: 3 } });
    expect(records[1]).not.toHaveProperty("context");

    // Off, the actor's system has no observer left; on again, one (not two) follows it.
    host.inspecting = false;
    records.length = 0;
    actor.send({ type: "PING" });
    expect(records).toHaveLength(0);
    host.inspecting = true;
    // On again, the announcement carries the whole context, as to a watcher that saw none.
    expect(records.filter((r) => r.kind === "snapshot")).toEqual([expect.objectContaining({ context: expect.objectContaining({ pings: 4 }) })]);
    records.length = 0;
    actor.send({ type: "PING" });
    expect(records.map((r) => r.kind)).toEqual(["event", "snapshot"]);
    expect(records[1]).toMatchObject({ changes: { pings: 5 } });
    actor.send({ type: "QUIT" });
    await Promise.resolve();
    expect(records.at(-1)).toMatchObject({ kind: "actor-end", id: "smtpd/conn/1", status: "done" });
  });

  it("announces the children an actor is created with, restored or inspected late", () => {
    const records: InspectionRecord[] = [];
    const host = new ActorHost({ service: "send", publish: (r) => records.push(r) });
    const waiting = host.spawn("msg", toy, { key: 1 });
    waiting.send({ type: "WAIT", at: Date.now() + 60_000 });
    const packed = host.persist("send/msg/1");
    host.inspecting = true;
    const announced = records.filter((r) => r.kind === "actor");
    expect(announced).toEqual([
      expect.objectContaining({ id: "send/msg/1", machine: "toy" }),
      expect.objectContaining({ id: expect.stringMatching(/^send\/msg\/1\/./), parent: "send/msg/1" }),
    ]);
    host.stop("send/msg/1");

    records.length = 0;
    // Restored into "waiting", the actor re-creates its sleepUntil child while createActor runs.
    host.restore("msg", toy, 2, packed);
    const child = records.find((r) => r.kind === "actor" && r.parent === "send/msg/2");
    expect(records[0]).toMatchObject({ kind: "actor", id: "send/msg/2", machine: "toy" });
    expect(child?.kind === "actor" ? child.id : undefined).toMatch(/^send\/msg\/2\/./);
    host.stopAll();
  });

  it("restores a persisted actor whose deadline then fires at the same wall-clock moment", async () => {
    const host = new ActorHost({ service: "send" });
    const delay = 600;
    const at = Date.now() + delay;
    const first = host.spawn("msg", toy, { key: 1 });
    first.send({ type: "PING" });
    first.send({ type: "WAIT", at });
    const packed = host.persist("send/msg/1");
    host.stop("send/msg/1");
    await sleep(300);
    const revived = host.restore("msg", toy, 1, packed);
    expect(revived.getSnapshot().value).toBe("waiting");
    expect(revived.getSnapshot().context.pings).toBe(1);
    const wokenAt = await new Promise<number>((resolve) => {
      revived.subscribe((snapshot) => {
        if (snapshot.value === "woken") resolve(Date.now());
      });
    });
    // Never early; and long before a timer re-armed with the whole delay at restore (at + 300).
    expect(wokenAt).toBeGreaterThanOrEqual(at);
    expect(wokenAt - at).toBeLessThan(250);
  });
});

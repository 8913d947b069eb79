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
    host.spawn("conn", toy, { input: { password: "hunter2" } });
    expect(records).toHaveLength(0);
    host.inspecting = true;
    const actor = host.spawn("conn", toy, { key: 17, input: { password: "hunter2" } });
    actor.send({ type: "PING" });
    actor.send({ type: "QUIT" });
    await Promise.resolve();
    const ids = new Set(records.map((r) => ("id" in r ? r.id : "")));
    expect([...ids]).toEqual(["smtpd:2525/conn/17"]);
    expect(records.map((r) => r.kind)).toEqual(expect.arrayContaining(["actor", "event", "snapshot", "actor-end"]));
    const snapshot = records.filter((r) => r.kind === "snapshot" && r.value === "idle").at(-1);
    expect(snapshot).toMatchObject({ context: { pings: 1, password: "[redacted]" } });
    expect(JSON.stringify(records)).not.toContain("hunter2");
    expect(records.at(-1)).toMatchObject({ kind: "actor-end", status: "done" });
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

// The queue-entry statechart with fake actors: the order of its steps, where failures go, and
// what `waitingUntil` reports for dormancy. No files, no workers.

import { describe, expect, it } from "vitest";
import { createActor, fromCallback, fromPromise, waitFor, type EventObject } from "xstate";
import { queueEntryMachine, waitingUntil, type ChannelPassInput, type MarkInput } from "../../machines/queue-entry.js";

type Outcome = "preprocessed" | "queued" | "gone";

function harness(overrides: { loadError?: Error & { corrupt?: true }; outcome?: Outcome; status?: "K" | "D" } = {}) {
  const steps: string[] = [];
  let loads = 0;
  const machine = queueEntryMachine.provide({
    actors: {
      preprocess: fromPromise(async () => {
        steps.push("preprocess");
        const kind = overrides.outcome ?? "queued";
        const recipients = { local: [{ offset: 0, recipient: "r@y" }], remote: [] };
        return kind === "preprocessed" ? { kind, entry: { birth: 1000, sender: "s@x", nextTry: { local: 1000, remote: null }, recipients } } : { kind };
      }),
      loadEntry: fromPromise(async () => {
        steps.push("load");
        if (overrides.loadError !== undefined && loads++ === 0) throw overrides.loadError;
        return { birth: 1000, sender: "s@x", nextTry: { local: null, remote: 5000 }, recipients: { local: [], remote: [{ offset: 0, recipient: "r@y" }] } };
      }),
      awaitTurn: fromCallback<EventObject, { at: number }>(({ input, sendBack }) => {
        steps.push(`wait ${input.at}`);
        sendBack({ type: "TURN" });
      }),
      deliverChannel: fromPromise<unknown, ChannelPassInput>(async ({ input }) => {
        steps.push(`deliver ${input.channel}`);
        return { results: [{ offset: 0, recipient: "r@y", status: overrides.status ?? "K", report: "ok" }], nextTry: 9000 };
      }),
      markDone: fromPromise<unknown, MarkInput>(async ({ input }) => {
        steps.push(`mark ${input.results.length}`);
        return { remaining: 0 };
      }),
      bounce: fromPromise(async () => void steps.push("bounce")),
      removeMessage: fromPromise(async () => void steps.push("remove")),
      holdOff: fromCallback(({ sendBack }) => {
        steps.push("hold off");
        sendBack({ type: "RETRY" });
      }),
      quarantine: fromPromise<void, { problem: string }>(async ({ input }) => void steps.push(`quarantine ${input.problem}`)),
    } as never,
  });
  return { machine, steps };
}

describe("queue-entry machine", () => {
  it("preprocesses, loads, waits for its turn, delivers, marks, bounces, removes", async () => {
    const { machine, steps } = harness();
    const actor = createActor(machine, { input: { id: 7 } }).start();
    await waitFor(actor, (s) => s.status === "done");
    expect(steps).toEqual(["preprocess", "load", "wait 5000", "deliver remote", "mark 1", "bounce", "remove"]);
  });

  it("a message preprocessed in this life goes straight to its channels, and bounces only after a permanent failure", async () => {
    for (const [status, expected] of [
      ["K", ["preprocess", "wait 1000", "deliver local", "mark 1", "remove"]],
      ["D", ["preprocess", "wait 1000", "deliver local", "mark 1", "bounce", "remove"]],
    ] as const) {
      const { machine, steps } = harness({ outcome: "preprocessed", status });
      const actor = createActor(machine, { input: { id: 7 } }).start();
      await waitFor(actor, (s) => s.status === "done");
      expect(steps).toEqual(expected);
    }
  });

  it("a pass gets the recipients the entry knows; one deferred (Z) is all the next pass gets", async () => {
    const passes: string[][] = [];
    const marks: number[] = [];
    const recipients = [
      { offset: 0, recipient: "a@y" },
      { offset: 6, recipient: "b@y" },
      { offset: 12, recipient: "c@y" },
    ];
    const machine = harness().machine.provide({
      actors: {
        preprocess: fromPromise(async () => ({
          kind: "preprocessed",
          entry: { birth: 1000, sender: "s@x", nextTry: { local: 1000, remote: null }, recipients: { local: recipients, remote: [] } },
        })),
        deliverChannel: fromPromise<unknown, ChannelPassInput>(async ({ input }) => {
          passes.push(input.recipients.map((r) => r.recipient));
          const status = (r: { recipient: string }): "K" | "Z" | "D" => (r.recipient === "b@y" && passes.length === 1 ? "Z" : "K");
          return { results: input.recipients.map((r) => ({ ...r, status: status(r), report: "" })), nextTry: 9000 };
        }),
        markDone: fromPromise<unknown, MarkInput>(async ({ input }) => {
          marks.push(input.pending);
          return { remaining: input.pending - input.results.filter((r) => r.status !== "Z").length };
        }),
      } as never,
    });
    const actor = createActor(machine, { input: { id: 7 } }).start();
    await waitFor(actor, (s) => s.status === "done");
    expect(passes).toEqual([["a@y", "b@y", "c@y"], ["b@y"]]);
    expect(marks).toEqual([3, 1]);
  });

  it("a corrupt file sends the entry to quarantine; any other failure holds off and starts again", async () => {
    const corrupt = harness({ loadError: Object.assign(new Error("info/7: not an F record"), { corrupt: true as const }) });
    const first = createActor(corrupt.machine, { input: { id: 7 } }).start();
    await waitFor(first, (s) => s.status === "done");
    expect(corrupt.steps).toEqual(["preprocess", "load", "quarantine info/7: not an F record"]);

    const transient = harness({ loadError: new Error("EIO") });
    const second = createActor(transient.machine, { input: { id: 8 } }).start();
    await waitFor(second, (s) => s.status === "done");
    expect(transient.steps.slice(0, 5)).toEqual(["preprocess", "load", "hold off", "preprocess", "load"]);
    expect(transient.steps.at(-1)).toBe("remove");
  });

  it("an entry whose files are gone (finished meanwhile) ends at once", async () => {
    const { machine, steps } = harness({ outcome: "gone" });
    const actor = createActor(machine, { input: { id: 9 } }).start();
    await waitFor(actor, (s) => s.status === "done");
    expect(steps).toEqual(["preprocess"]);
  });

  it("waitingUntil is the earliest next try while every channel only waits", () => {
    const { machine } = harness();
    const waiting = machine.resolveState({ value: { channels: { local: "waiting", remote: "waiting" } }, context: { id: 1, birth: 0, sender: "", nextTry: { local: 300, remote: 200 }, recipients: { local: [], remote: [] }, pass: { local: null, remote: null }, problem: null, bounceDue: true } });
    expect(waitingUntil(waiting)).toBe(200);
    const busy = machine.resolveState({ value: { channels: { local: "delivering", remote: "waiting" } }, context: waiting.context });
    expect(waitingUntil(busy)).toBeUndefined();
    const oneDone = machine.resolveState({ value: { channels: { local: "finished", remote: "waiting" } }, context: waiting.context });
    expect(waitingUntil(oneDone)).toBe(200);
  });
});

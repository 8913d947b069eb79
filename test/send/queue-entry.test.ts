// The queue-entry statechart with fake work behind its requests: the order of its steps, where
// failures go, that an answer to an attempt that failed is dropped, and what `waitingUntil`
// reports for dormancy. No files, no workers.

import { describe, expect, it, vi } from "vitest";
import { createActor, fromCallback, waitFor, type EventObject } from "xstate";
import {
  answering,
  queueEntryMachine,
  waitingUntil,
  type Channel,
  type ChannelPassInput,
  type MarkInput,
  type PendingRecipient,
  type QueueEntryAnswer,
  type Request,
} from "../../machines/queue-entry.js";

type Outcome = "preprocessed" | "queued" | "gone";

/** Preprocessing's answer for a message it has just preprocessed: each channel with recipients is due at 1000. */
function preprocessed(recipients: Record<Channel, PendingRecipient[]>, durable = true): QueueEntryAnswer {
  const nextTry = { local: recipients.local.length > 0 ? 1000 : null, remote: recipients.remote.length > 0 ? 1000 : null };
  return { type: "PREPROCESSED", output: { kind: "preprocessed", entry: { birth: 1000, sender: "s@x", nextTry, recipients }, durable } };
}

function harness(overrides: { loadError?: Error & { corrupt?: true }; outcome?: Outcome; status?: "K" | "D" } = {}) {
  const steps: string[] = [];
  let loads = 0;
  const machine = queueEntryMachine.provide({
    actions: {
      preprocess: answering(async () => {
        steps.push("preprocess");
        const kind = overrides.outcome ?? "queued";
        return kind === "preprocessed" ? preprocessed({ local: [{ offset: 0, recipient: "r@y" }], remote: [] }) : { type: "PREPROCESSED", output: { kind } };
      }),
      loadEntry: answering(async () => {
        steps.push("load");
        if (overrides.loadError !== undefined && loads++ === 0) throw overrides.loadError;
        return {
          type: "LOADED",
          output: { birth: 1000, sender: "s@x", nextTry: { local: null, remote: 5000 }, recipients: { local: [], remote: [{ offset: 0, recipient: "r@y" }] } },
        };
      }),
      deliverChannel: answering(async ({ channel }: Request<ChannelPassInput>) => {
        steps.push(`deliver ${channel}`);
        return { type: "PASSED", channel, output: { results: [{ offset: 0, recipient: "r@y", status: overrides.status ?? "K", report: "ok" }], nextTry: 9000 } };
      }),
      markDone: answering(async ({ channel, results }: Request<MarkInput>) => {
        steps.push(`mark ${results.length}`);
        return { type: "MARKED", channel, output: { remaining: 0, durable: true } };
      }),
      bounce: answering(async () => (steps.push("bounce"), { type: "BOUNCED" })),
      removeMessage: answering(async () => (steps.push("remove"), { type: "REMOVED" })),
      quarantine: answering(async ({ problem }: Request<{ problem: string }>) => (steps.push(`quarantine ${problem}`), { type: "QUARANTINED" })),
    },
    actors: {
      awaitTurn: fromCallback<EventObject, { at: number }>(({ input, sendBack }) => {
        steps.push(`wait ${input.at}`);
        sendBack({ type: "TURN" });
      }),
      holdOff: fromCallback(({ sendBack }) => {
        steps.push("hold off");
        sendBack({ type: "RETRY" });
      }),
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
      actions: {
        preprocess: answering(async () => preprocessed({ local: recipients, remote: [] })),
        deliverChannel: answering(async (pass: Request<ChannelPassInput>) => {
          passes.push(pass.recipients.map((r) => r.recipient));
          const status = (r: { recipient: string }): "K" | "Z" | "D" => (r.recipient === "b@y" && passes.length === 1 ? "Z" : "K");
          return { type: "PASSED", channel: pass.channel, output: { results: pass.recipients.map((r) => ({ ...r, status: status(r), report: "" })), nextTry: 9000 } };
        }),
        markDone: answering(async (marking: Request<MarkInput>) => {
          marks.push(marking.pending);
          return { type: "MARKED", channel: marking.channel, output: { remaining: marking.pending - marking.results.filter((r) => r.status !== "Z").length, durable: true } };
        }),
      },
    });
    const actor = createActor(machine, { input: { id: 7 } }).start();
    await waitFor(actor, (s) => s.status === "done");
    expect(passes).toEqual([["a@y", "b@y", "c@y"], ["b@y"]]);
    expect(marks).toEqual([3, 1]);
  });

  it("an entry whose files are unwritten hands each mark what to write until one says they are written, and its removal knows", async () => {
    for (const [statuses, expected] of [
      // Delivered at the first try: nothing written, so the removal takes todo/N.
      [["K"], { unwritten: [true], removedDurable: false }],
      // Deferred at the first try: that mark writes the files; the next one is told they exist.
      [["Z", "K"], { unwritten: [true, false], removedDurable: true }],
    ] as const) {
      const unwritten: boolean[] = [];
      let removedDurable: boolean | undefined;
      let pass = 0;
      const recipient = { offset: 0, recipient: "a@y" };
      const machine = harness().machine.provide({
        actions: {
          preprocess: answering(async () => preprocessed({ local: [recipient], remote: [] }, false)),
          deliverChannel: answering(async ({ channel }: Request<ChannelPassInput>) => ({
            type: "PASSED",
            channel,
            output: { results: [{ ...recipient, status: statuses[pass++]!, report: "" }], nextTry: 9000 },
          })),
          markDone: answering(async (marking: Request<MarkInput>) => {
            unwritten.push(marking.unwritten !== null);
            if (marking.unwritten !== null) expect(marking.unwritten).toEqual({ birth: 1000, sender: "s@x", nextTry: { local: 1000, remote: null }, recipients: { local: [recipient], remote: [] } });
            const remaining = marking.results[0]!.status === "Z" ? 1 : 0;
            return { type: "MARKED", channel: marking.channel, output: { remaining, durable: !(marking.unwritten !== null && remaining === 0) } };
          }),
          removeMessage: answering(async ({ durable }: Request<{ durable: boolean }>) => {
            removedDurable = durable;
            return { type: "REMOVED" };
          }),
        },
      });
      const actor = createActor(machine, { input: { id: 7 } }).start();
      await waitFor(actor, (s) => s.status === "done");
      expect({ unwritten, removedDurable }).toEqual(expected);
    }
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

  it("an answer to an attempt that failed is dropped: a pass still running when the other channel's marking failed", async () => {
    const held: Array<() => void> = [];
    const marked = { local: 0, remote: 0 };
    const machine = harness().machine.provide({
      actions: {
        preprocess: answering(async () => preprocessed({ local: [{ offset: 0, recipient: "l@y" }], remote: [{ offset: 0, recipient: "r@z" }] })),
        deliverChannel: answering(async (pass: Request<ChannelPassInput>) => {
          if (pass.channel === "local") await new Promise<void>((release) => held.push(release));
          return { type: "PASSED", channel: pass.channel, output: { results: pass.recipients.map((r) => ({ ...r, status: "K" as const, report: "" })), nextTry: 9000 } };
        }),
        markDone: answering(async (marking: Request<MarkInput>) => {
          if (marking.channel === "remote" && marked.remote++ === 0) throw new Error("EIO");
          if (marking.channel === "local") marked.local++;
          return { type: "MARKED", channel: marking.channel, output: { remaining: 0, durable: true } };
        }),
      },
    });
    const actor = createActor(machine, { input: { id: 7 } }).start();
    // The first attempt's local pass is held while remote's marking fails; the second attempt asks again.
    await vi.waitFor(() => expect(held).toHaveLength(2));
    expect(actor.getSnapshot().context.attempt).toBe(1);
    held[0]!();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(actor.getSnapshot().value).toEqual({ channels: { local: "delivering", remote: "finished" } });
    expect(marked.local).toBe(0);
    held[1]!();
    await waitFor(actor, (s) => s.status === "done");
    expect(marked).toEqual({ local: 1, remote: 2 });
  });

  it("an entry whose files are gone (finished meanwhile) ends at once", async () => {
    const { machine, steps } = harness({ outcome: "gone" });
    const actor = createActor(machine, { input: { id: 9 } }).start();
    await waitFor(actor, (s) => s.status === "done");
    expect(steps).toEqual(["preprocess"]);
  });

  it("waitingUntil is the earliest next try while every channel only waits", () => {
    const { machine } = harness();
    const waiting = machine.resolveState({ value: { channels: { local: "waiting", remote: "waiting" } }, context: { id: 1, birth: 0, sender: "", nextTry: { local: 300, remote: 200 }, recipients: { local: [], remote: [] }, pass: { local: null, remote: null }, problem: null, bounceDue: true, durable: true, attempt: 0 } });
    expect(waitingUntil(waiting)).toBe(200);
    const busy = machine.resolveState({ value: { channels: { local: "delivering", remote: "waiting" } }, context: waiting.context });
    expect(waitingUntil(busy)).toBeUndefined();
    const oneDone = machine.resolveState({ value: { channels: { local: "finished", remote: "waiting" } }, context: waiting.context });
    expect(waitingUntil(oneDone)).toBe(200);
  });
});

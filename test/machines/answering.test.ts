// machines/answering.ts with a toy chart that asks for one piece of work on entry: the answer
// arrives as the work's event, a rejection or a throw before the promise as FAILED with the
// error, and nothing reaches an actor that was stopped or whose answer is no longer wanted.

import { assign, createActor, setup, waitFor, type AnyActorRef } from "xstate";
import { describe, expect, it } from "vitest";
import { answering, type Failed } from "../../machines/answering.js";

type Answer = { type: "DONE"; value: number } | Failed;

const toy = setup({
  types: { events: {} as Answer, context: {} as { value: number; error: unknown } },
  actions: { work: (_, _params: { n: number }) => {} },
}).createMachine({
  context: { value: 0, error: undefined },
  initial: "asking",
  states: {
    asking: {
      entry: { type: "work", params: { n: 20 } },
      on: {
        DONE: { target: "answered", actions: assign({ value: ({ event }) => event.value }) },
        FAILED: { target: "failed", actions: assign({ error: ({ event }) => event.error }) },
      },
    },
    answered: { type: "final" },
    failed: { type: "final" },
  },
});

const actorFor = (work: (request: { n: number }, self: AnyActorRef) => Promise<Answer>, stillWanted?: (self: AnyActorRef) => boolean) =>
  createActor(toy.provide({ actions: { work: answering(work, stillWanted) } }));

/** A work that answers DONE when `release` is called. */
function heldWork() {
  let release = (): void => {};
  const work = (): Promise<Answer> => new Promise((resolve) => (release = () => resolve({ type: "DONE", value: 1 })));
  return { work, release: () => release() };
}

describe("answering", () => {
  it("sends the work's event to the actor that asked; the work gets the request's parameters and that actor", async () => {
    let by: AnyActorRef | undefined;
    const actor = actorFor(async (request, self) => {
      by = self;
      return { type: "DONE", value: request.n + 1 };
    }).start();
    await waitFor(actor, (s) => s.status === "done");
    expect(actor.getSnapshot().value).toBe("answered");
    expect(actor.getSnapshot().context.value).toBe(21);
    expect(by).toBe(actor);
  });

  it("answers FAILED with the error when the work rejects, or throws before it returns its promise", async () => {
    const boom = new Error("EIO");
    const rejecting = async (): Promise<Answer> => Promise.reject(boom);
    const throwing = (): Promise<Answer> => {
      throw boom;
    };
    for (const work of [rejecting, throwing]) {
      const actor = actorFor(work).start();
      await waitFor(actor, (s) => s.status === "done");
      expect(actor.getSnapshot().value).toBe("failed");
      expect(actor.getSnapshot().context.error).toBe(boom);
    }
  });

  it("sends nothing to an actor stopped meanwhile, nor when `stillWanted` says no", async () => {
    const stoppedWork = heldWork();
    const stopped = actorFor(stoppedWork.work).start();
    const sent: unknown[] = [];
    const send = stopped.send.bind(stopped);
    stopped.send = (event) => {
      sent.push(event);
      send(event);
    };
    stopped.stop();
    stoppedWork.release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sent).toEqual([]);

    const unwantedWork = heldWork();
    const unwanted = actorFor(unwantedWork.work, () => false).start();
    unwantedWork.release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(unwanted.getSnapshot().value).toBe("asking");

    const wantedWork = heldWork();
    const wanted = actorFor(wantedWork.work, () => true).start();
    wantedWork.release();
    await waitFor(wanted, (s) => s.status === "done");
    expect(wanted.getSnapshot().value).toBe("answered");
  });
});

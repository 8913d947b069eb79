// How the work a session machine asks for (a line, a check, DATA into the queue, a handshake) is
// answered: one event to the session actor — unless the actor was stopped from outside meanwhile
// (svc -d), when the answer is for nobody. Used by smtpd's wiring and, for lines, by every
// session that reads through a ClientStream (smtpd and pop3d).

import type { AnyActorRef, EventObject } from "xstate";
import type { AnswerEvent } from "../../../machines/smtp-session.js";

const FAILED = { type: "FAILED" } as const satisfies AnswerEvent;

/** Sends `event` to `actor` if it still runs. */
export function sendIfActive(actor: AnyActorRef, event: EventObject): void {
  if (actor.getSnapshot().status === "active") actor.send(event);
}

/** Runs `work` and answers `actor` with `answer(result)`, or FAILED if the work throws or rejects. */
export function answerWith<T>(actor: AnyActorRef, work: () => Promise<T>, answer: (result: T) => AnswerEvent): void {
  new Promise<T>((resolve) => resolve(work())).then(
    (result) => sendIfActive(actor, answer(result)),
    () => sendIfActive(actor, FAILED),
  );
}

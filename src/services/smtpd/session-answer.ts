// How the work smtp-session asks for (a check, DATA into the queue, a handshake) is answered: one
// event to the session actor — unless the actor was stopped from outside meanwhile (svc -d), when
// the answer is for nobody. machines/answering.ts does the answering; this adapts it to smtpd's
// wiring, which maps each result to its event. Lines come back the same way, through
// ClientStream and answering.ts's sendIfActive.

import type { AnyActorRef } from "xstate";
import { answering } from "../../../machines/answering.js";
import type { AnswerEvent } from "../../../machines/smtp-session.js";

/** Runs `work` and answers `actor` with `answer(result)`, or FAILED if the work throws or rejects. */
export function answerWith<T>(actor: AnyActorRef, work: () => Promise<T>, answer: (result: T) => AnswerEvent): void {
  answering<void, AnswerEvent>(() => work().then(answer))({ self: actor }, undefined);
}

// The session machine's requests for work, answered by events through session-answer.ts: a
// result comes back as its event, and work that throws (synchronously or by rejecting) as FAILED,
// which the machine answers as a temporary failure — 451 for a check, then the next command is
// read; `451 qqt failure` and the end of the session when the queueing itself failed. The real
// machine and the real answerWith; only the I/O actions are the test's.

import { describe, expect, it } from "vitest";
import { createActor } from "xstate";
import { smtpSessionMachine, type MessageOutcome, type RecipientVerdict, type SenderVerdict, type SmtpSessionInput } from "../../machines/smtp-session.js";
import { answerWith } from "../../src/services/smtpd/session-answer.js";
import { waitFor } from "../runtime/test-root.js";

const input: SmtpSessionInput = {
  greeting: "mx.test",
  relayClient: undefined,
  databytes: 0,
  maxRecipients: 100,
  tarpit: undefined,
  recipients450: false,
  maxErrors: 20,
  tls: { offered: false, required: false, active: false, certificateRelay: false },
  auth: { mechanisms: [], required: false, cleartext: false, failureDelayMs: 0, challengeHost: "mx.test" },
};

/** What each piece of work does: a value to answer with, or a way to fail. */
interface Work {
  readonly sender: () => Promise<SenderVerdict>;
  readonly recipient: () => Promise<RecipientVerdict>;
  readonly message: () => Promise<MessageOutcome>;
}

const ok: Work = {
  sender: () => Promise.resolve({ kind: "accepted" }),
  recipient: () => Promise.resolve({ kind: "accepted", address: "rcpt@mx.test" }),
  message: () => Promise.resolve({ kind: "queued", unixTime: 1, qp: 2, id: 3 }),
};

/** A session whose commands are `lines`, each sent once the machine asks for a line; its replies. */
async function session(work: Work, lines: readonly string[]): Promise<{ replies: string[]; status: string }> {
  const replies: string[] = [];
  const script = [...lines];
  const machine = smtpSessionMachine.provide({
    actions: {
      requestLine: ({ self }) => {
        const text = script.shift();
        // Asked from inside a transition: answered after it, as the client stream does.
        queueMicrotask(() => self.send(text === undefined ? { type: "CLOSED" } : { type: "LINE", text }));
      },
      reply: (_, { text }) => void replies.push(text),
      checkSender: ({ self }) => answerWith(self, work.sender, (verdict) => ({ type: "SENDER_CHECKED", verdict })),
      checkRecipient: ({ self }) => answerWith(self, work.recipient, (verdict) => ({ type: "RECIPIENT_CHECKED", verdict })),
      receiveMessage: ({ self }) => answerWith(self, work.message, (outcome) => ({ type: "MESSAGE_RECEIVED", outcome })),
    },
  });
  const actor = createActor(machine, { input }).start();
  await waitFor(() => actor.getSnapshot().status === "done", 5000, "the session to end");
  return { replies, status: actor.getSnapshot().status };
}

describe("answers to a session's requests", () => {
  it("results come back as events: a whole transaction", async () => {
    const { replies } = await session(ok, ["MAIL FROM:<a@b.test>", "RCPT TO:<rcpt@mx.test>", "DATA", "QUIT"]);
    expect(replies).toEqual(["220 mx.test ESMTP", "250 ok", "250 ok", "354 go ahead", "250 ok 1 qp 2", "221 mx.test"]);
  });

  it("a sender check that rejects is a 451, and the next command is read", async () => {
    const { replies } = await session({ ...ok, sender: () => Promise.reject(new Error("resolver down")) }, ["MAIL FROM:<a@b.test>", "RCPT TO:<rcpt@mx.test>", "QUIT"]);
    expect(replies.slice(1)).toEqual(["451 temporary failure (#4.3.0)", "503 MAIL first (#5.5.1)", "221 mx.test"]);
  });

  it("a recipient check that throws before it returns a promise is a 451, and adds no recipient", async () => {
    const recipient = (): Promise<RecipientVerdict> => {
      throw new Error("no connection");
    };
    const { replies } = await session({ ...ok, recipient }, ["MAIL FROM:<a@b.test>", "RCPT TO:<rcpt@mx.test>", "DATA", "QUIT"]);
    expect(replies.slice(1)).toEqual(["250 ok", "451 temporary failure (#4.3.0)", "503 RCPT first (#5.5.1)", "221 mx.test"]);
  });

  it("a failed queueing is `451 qqt failure` and ends the session: nothing more is read", async () => {
    const { replies, status } = await session({ ...ok, message: () => Promise.reject(new Error("disk gone")) }, ["MAIL FROM:<a@b.test>", "RCPT TO:<rcpt@mx.test>", "DATA", "QUIT"]);
    expect(replies.slice(1)).toEqual(["250 ok", "250 ok", "354 go ahead", "451 qqt failure (#4.3.0)"]);
    expect(status).toBe("done");
  });
});

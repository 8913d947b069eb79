// qmtp-session and qmqp-session alone, with scripted reads in place of a socket: the verdict
// order of qmail-qmtpd (length, NUL, rcpthosts), RELAYCLIENT's suffix, which text wins when the
// sender, the size and the queue disagree, what each machine commits, and that a read failure
// or a read that throws ends the session without a commit or a reply.

import { createActor, type AnyStateMachine } from "xstate";
import { describe, expect, it } from "vitest";
import { QMQP_BAD_ADDRESSES, qmqpSessionMachine } from "../../machines/qmqp-session.js";
import { answering, QMTP_REPLIES, qmtpSessionMachine, type CommitInput, type CommitResult, type MessageRead, type RecipientRead, type SenderRead } from "../../machines/qmtp-session.js";

/** What each read answers, in order; an Error is thrown by the read instead. */
interface Script {
  readonly messages: (MessageRead | Error)[];
  readonly senders: (SenderRead | Error)[];
  readonly recipients: (RecipientRead | Error)[];
  readonly result?: CommitResult;
}

const address = (text: string, inRcpthosts = true, bytes = Buffer.byteLength(text)): RecipientRead => ({ kind: "recipient", address: text, bytes, nul: text.includes("\0"), inRcpthosts });
const sender = (text: string): SenderRead => ({ kind: "sender", address: text, bytes: Buffer.byteLength(text), nul: text.includes("\0") });
const OK: CommitResult = { ok: true, unixTime: 1700000000, qp: 42 };

/** Runs a machine over the script; returns what it committed and replied, and why it ended. */
async function run(machine: AnyStateMachine, script: Script, input?: unknown): Promise<{ commits: CommitInput[]; replies: string[][]; ending: string }> {
  const commits: CommitInput[] = [];
  const replies: string[][] = [];
  const next = async <T>(list: (T | Error)[]): Promise<T> => {
    const item = list.shift()!;
    if (item instanceof Error) throw item;
    return item;
  };
  const provided = machine.provide({
    actions: {
      readMessage: answering(async () => ({ type: "MESSAGE_READ", read: await next(script.messages) })),
      readSender: answering(async () => ({ type: "SENDER_READ", read: await next(script.senders) })),
      readRecipient: answering(async () => ({ type: "RECIPIENT_READ", read: await next(script.recipients) })),
      commit: answering(async (commit: CommitInput) => {
        commits.push(commit);
        return { type: "COMMITTED", result: script.result ?? OK };
      }),
      reply: (_: unknown, params: { replies?: string[]; text?: string }) => void replies.push(params.replies ?? [params.text!]),
    },
  });
  const actor = createActor(provided, { input });
  const done = new Promise<void>((resolve, reject) => actor.subscribe({ complete: resolve, error: reject }));
  actor.start();
  await done;
  return { commits, replies, ending: (actor.getSnapshot().context as { ending: string }).ending };
}

const message = (overDatabytes = false): MessageRead => ({ kind: "message", overDatabytes });

describe("qmtp-session", () => {
  it("judges each recipient as qmail-qmtpd does and commits only the accepted ones", async () => {
    const { commits, replies } = await run(
      qmtpSessionMachine,
      {
        messages: [message(), { kind: "eof" }],
        senders: [sender("s@a.test")],
        recipients: [address("ok@example.test"), address("far@elsewhere.test", false), address("x".repeat(1000)), address("n\0ul@elsewhere.test", false), address("n\0ul@example.test"), { kind: "end" }],
      },
      { relayClient: undefined },
    );
    expect(commits).toEqual([{ sender: "s@a.test", recipients: ["ok@example.test"], abandon: false }]);
    // The rcpthosts refusal wins over a NUL; a NUL in an allowed domain is "can't handle".
    expect(replies).toEqual([["Kok 1700000000 qp 42", QMTP_REPLIES.rcpthosts, QMTP_REPLIES.badRecipient, QMTP_REPLIES.rcpthosts, QMTP_REPLIES.badRecipient]]);
  });

  it("with RELAYCLIENT: no rcpthosts check, the suffix appended and counted in the length", async () => {
    const { commits, replies } = await run(
      qmtpSessionMachine,
      { messages: [message(), { kind: "eof" }], senders: [sender("s@a.test")], recipients: [address("far@elsewhere.test", false), address("y".repeat(998)), { kind: "end" }] },
      { relayClient: "-x" },
    );
    expect(commits[0]!.recipients).toEqual(["far@elsewhere.test-x"]);
    expect(replies[0]![1]).toBe(QMTP_REPLIES.badRecipient);
  });

  it("databytes beats a bad sender, which beats the queue; the package is abandoned", async () => {
    const script = (over: boolean, from: string): Script => ({ messages: [message(over), { kind: "eof" }], senders: [sender(from)], recipients: [address("ok@example.test"), address("far@elsewhere.test", false), { kind: "end" }], result: { ok: false, text: "Zqq read error (#4.3.0)" } });
    const both = await run(qmtpSessionMachine, script(true, "bad\0"), { relayClient: undefined });
    expect(both.replies).toEqual([[QMTP_REPLIES.databytes, QMTP_REPLIES.rcpthosts]]);
    expect(both.commits[0]!.abandon).toBe(true);
    const badSender = await run(qmtpSessionMachine, script(false, "bad\0"), { relayClient: undefined });
    expect(badSender.replies).toEqual([[QMTP_REPLIES.badSender, QMTP_REPLIES.rcpthosts]]);
  });

  it("serves packages until end of input; a read failure ends it with no commit and no reply", async () => {
    const { commits, replies } = await run(
      qmtpSessionMachine,
      {
        messages: [message(), message()],
        senders: [sender("a@a.test"), sender("b@b.test")],
        recipients: [address("one@example.test"), { kind: "end" }, { kind: "protocol-error", reason: "malformed netstring: missing-comma" }],
      },
      { relayClient: undefined },
    );
    expect(commits.map((c) => c.sender)).toEqual(["a@a.test"]);
    expect(replies).toHaveLength(1);
  });

  it("a read that throws ends the session with its error, mid-package, with no commit and no reply", async () => {
    const { commits, replies, ending } = await run(
      qmtpSessionMachine,
      { messages: [message()], senders: [sender("a@a.test")], recipients: [address("one@example.test"), new Error("queue disk full")] },
      { relayClient: undefined },
    );
    expect(commits).toEqual([]);
    expect(replies).toEqual([]);
    expect(ending).toBe("failed: queue disk full");
  });
});

describe("qmqp-session", () => {
  it("commits the request and replies once", async () => {
    const { commits, replies } = await run(qmqpSessionMachine, { messages: [message()], senders: [sender("s@a.test")], recipients: [address("far@elsewhere.test", false), { kind: "end" }] });
    expect(commits).toEqual([{ sender: "s@a.test", recipients: ["far@elsewhere.test"], abandon: false }]);
    expect(replies).toEqual([["Kok 1700000000 qp 42"]]);
  });

  it("one unacceptable address spoils the whole request", async () => {
    const { commits, replies } = await run(qmqpSessionMachine, { messages: [message()], senders: [sender("s@a.test")], recipients: [address("ok@example.test"), address("z".repeat(1000)), { kind: "end" }] });
    expect(commits[0]!.abandon).toBe(true);
    expect(replies).toEqual([[QMQP_BAD_ADDRESSES]]);
  });

  it("a malformed request or a read that throws ends it with no commit and no reply, saying why", async () => {
    const malformed = await run(qmqpSessionMachine, { messages: [message()], senders: [{ kind: "protocol-error", reason: "malformed netstring: missing-comma" }], recipients: [] });
    expect(malformed).toEqual({ commits: [], replies: [], ending: "protocol-error: malformed netstring: missing-comma" });
    const thrown = await run(qmqpSessionMachine, { messages: [new Error("socket reset")], senders: [], recipients: [] });
    expect(thrown).toEqual({ commits: [], replies: [], ending: "failed: socket reset" });
  });
});

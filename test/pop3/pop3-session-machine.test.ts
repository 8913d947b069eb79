// The pop3-session statechart alone, its effects provided by scripted stand-ins (lines in,
// replies out): the UPDATE state is reached only through QUIT in TRANSACTION, so a session whose
// connection drops deletes nothing, the maildrop is never opened before a login succeeds, and
// work that throws gets qmail-pop3d's reply for it.

import { createActor, waitFor } from "xstate";
import { describe, expect, it } from "vitest";
import { answering, pop3SessionMachine, type Mailbox, type OnConnection, type Pop3Credentials, type Pop3SessionInput } from "../../machines/pop3-session.js";
import { inputEvent, type ReadResult } from "../../machines/line-input.js";

const INPUT: Pop3SessionInput = {
  connection: 1,
  hostname: "mx.test",
  timestamp: "<1.1.1@mx.test>",
  apop: false,
  cram: false,
  tls: { offered: false, required: false, active: false },
  failureDelayMs: 0,
};

/** The work that throws instead of answering. */
type Throwing = "openMaildrop" | "commitUpdate";

async function session(lines: string[], password = "right", throwing?: Throwing) {
  const replies: string[] = [];
  const commits: number[][] = [];
  let opened = 0;
  const script: ReadResult[] = [...lines.map((text) => ({ kind: "line" as const, text })), { kind: "closed" }];
  const machine = pop3SessionMachine.provide({
    actions: {
      reply: (_, { text }) => void replies.push(text),
      // Answered later, as a socket read is.
      requestLine: ({ self }) => void Promise.resolve(script.shift()!).then((result) => self.send(inputEvent(result))),
      checkPassword: answering(async ({ credentials }: OnConnection<{ credentials: Pop3Credentials }>) => {
        const given = credentials.mechanism === "USER" ? credentials.password : "";
        return { type: "PASSWORD_CHECKED", verdict: given === password ? { kind: "ok", mailbox: { user: "u", maildir: "/m/", uid: 1 } } : { kind: "rejected" } };
      }),
      openMaildrop: answering(async (_: OnConnection<{ mailbox: Mailbox }>) => {
        if (throwing === "openMaildrop") throw new Error("EACCES");
        opened += 1;
        return { type: "MAILDROP_OPENED", opened: { kind: "opened", messages: [{ size: 10, uid: "a" }, { size: 20, uid: "b" }] } };
      }),
      commitUpdate: answering(async ({ deleted }: OnConnection<{ deleted: readonly number[] }>) => {
        if (throwing === "commitUpdate") throw new Error("EIO");
        commits.push([...deleted]);
        return { type: "UPDATED", unlinkedAll: true };
      }),
    },
  });
  const actor = createActor(machine, { input: INPUT }).start();
  await waitFor(actor, (snapshot) => snapshot.status === "done", { timeout: 2000 });
  return { replies, commits, opened };
}

describe("pop3-session machine", () => {
  it("deletes at QUIT in TRANSACTION, and not when the connection drops", async () => {
    expect((await session(["USER u", "PASS right", "DELE 2", "DELE 1", "QUIT"])).commits).toEqual([[0, 1]]);
    const dropped = await session(["USER u", "PASS right", "DELE 1"]);
    expect(dropped.commits).toEqual([]);
    expect(dropped.replies).toEqual(["+OK mx.test POP3 ready", "+OK ", "+OK ", "+OK "]);
  });

  it("opens no maildrop for a failed login; QUIT before login changes nothing", async () => {
    const failed = await session(["USER u", "PASS wrong", "STAT"]);
    expect(failed).toEqual({ replies: ["+OK mx.test POP3 ready", "+OK ", "-ERR authorization failed"], commits: [], opened: 0 });
    expect(await session(["QUIT"])).toEqual({ replies: ["+OK mx.test POP3 ready", "+OK "], commits: [], opened: 0 });
  });

  it("answers STLS without a certificate, and a second login attempt inside TRANSACTION, with -ERR", async () => {
    const { replies } = await session(["STLS", "USER u", "PASS right", "USER v", "STAT", "QUIT"]);
    expect(replies).toEqual(["+OK mx.test POP3 ready", "-ERR TLS not available", "+OK ", "+OK ", "-ERR unimplemented", "+OK 2 30", "+OK "]);
  });

  it("a maildrop that cannot be opened, or an update that throws, ends the session with qmail-pop3d's reply", async () => {
    const unopened = await session(["USER u", "PASS right", "STAT"], "right", "openMaildrop");
    expect(unopened.replies).toEqual(["+OK mx.test POP3 ready", "+OK ", "-ERR unable to scan $HOME/Maildir"]);
    const unupdated = await session(["USER u", "PASS right", "DELE 1", "QUIT", "STAT"], "right", "commitUpdate");
    expect(unupdated.replies).toEqual(["+OK mx.test POP3 ready", "+OK ", "+OK ", "+OK ", "-ERR unable to unlink all deleted messages"]);
  });
});

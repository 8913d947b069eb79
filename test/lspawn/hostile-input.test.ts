// Hostile envelopes against local delivery (security.md §1.8), through the real queue, send and
// lspawn: shell syntax in the recipient's extension must reach a program only as data in EXT,
// DEFAULT, LOCAL and RECIPIENT; an extension with `/`, `..` or dots must never name a .qmail file
// outside the home; CR or LF in an address never gets into the queue, so it cannot start a header
// line. (A hostile SENDER in a program's environment is in local-delivery.test.ts; body lines
// starting with `From ` are checked against python3 and Dovecot in mailbox-readers.test.ts.)

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { enqueue } from "../../src/queue/enqueue.js";
import { inject, leftovers, sendTestBed } from "../send/send-root.js";
import { logText, waitFor } from "../runtime/test-root.js";
import { deliveryLines, makeLspawnRoot, makeMaildir, newMessages, waitForDelivery, waitForMessages } from "./lspawn-root.js";

const bed = sendTestBed();
const SENDER = "sender@elsewhere.test";

/** The .qmail names qmail's search would try for `ext` if the extension were used as it came. */
function naiveNames(ext: string): string[] {
  const names = [`.qmail-${ext}`];
  for (let i = ext.length; i >= 0; i--) if (i === 0 || ext[i - 1] === "-") names.push(`.qmail-${ext.slice(0, i)}default`);
  return names;
}

describe("hostile input", () => {
  it("shell syntax in the extension reaches the program as data only, quoted or not", async () => {
    const made = await makeLspawnRoot(bed);
    const pwned = join(made.root, "pwned");
    // Unquoted $EXT on purpose: sh expands a variable's value without running what it contains.
    made.dotQmail("alice", ".qmail-prog-default", '|echo $EXT > "$HOME/ext.out"; printf "%s\\n" "$DEFAULT" "$LOCAL" "$RECIPIENT" >> "$HOME/ext.out"\n');
    await bed.start();
    const ext = `prog-$(touch${"${IFS}"}${pwned})\`touch${"${IFS}"}${pwned}\`;touch${"${IFS}"}${pwned}|x&&y`;
    await inject(made.queueDir, SENDER, [`alice-${ext}@example.test`]);
    await waitForDelivery(made.root, /success: did_0\+0\+1\//);
    const local = `alice-${ext}`;
    expect(readFileSync(join(made.home("alice"), "ext.out"), "utf8")).toBe(`${ext}\n${ext.slice("prog-".length)}\n${local}\n${local}@example.test\n`);
    expect(existsSync(pwned)).toBe(false);
  }, 30_000);

  it("an extension cannot name a .qmail outside the home: `/`, `..` and dots become `:` and fall to .qmail-default", async () => {
    const made = await makeLspawnRoot(bed);
    const marker = join(made.root, "escaped");
    made.dotQmail("alice", ".qmail-default", "./Maildir/\n");
    // [user, ext]: alice's come from the local part `alice-EXT`; the others have no account and go to the alias user with the whole local part as ext.
    const escapes: [string, string][] = [["alice", "/../../evil"], ["alice", "/../../x-y"], ["alice", "../../../home/evil"], ["alice", ".."], ["alias", "/../passwd"], ["alias", "../../passwd"]];
    // Bait wherever a naive join(home, ".qmail-" + name) would land outside the home.
    for (const [user, ext] of escapes) {
      for (const name of naiveNames(ext)) {
        const path = join(made.home(user), name);
        if (!path.startsWith(`${made.home(user)}/`) && !existsSync(path)) {
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, `|touch ${marker}\n`);
        }
      }
    }
    await bed.start();
    const locals = escapes.map(([user, ext]) => (user === "alice" ? `alice-${ext}` : ext));
    await inject(made.queueDir, SENDER, locals.map((local) => `${local}@example.test`));
    // alice's four land in her Maildir through .qmail-default; the alias user has no .qmail-default: two hard failures.
    const delivered = await waitForMessages(join(made.home("alice"), "Maildir"), 4);
    for (const local of locals.slice(0, 4)) expect(delivered.some((message) => message.includes(`\nDelivered-To: ${local}@example.test\n`))).toBe(true);
    // The message ends once every recipient has its result. Counting result lines instead raced
    // with the bounce's own delivery (to a remote sender, deferred here), whose line can follow the
    // sixth within one look.
    await waitFor(() => /\bend msg \d+/.test(logText(made.root, "send")), 10_000, "the message's end");
    const results = deliveryLines(made.root).filter((line) => /delivery [1-6]: /.test(line));
    expect(results.filter((line) => line.includes(": success: "))).toHaveLength(4);
    expect(results.filter((line) => line.includes(": failure: Sorry,_no_mailbox_here_by_that_name."))).toHaveLength(2);
    expect(existsSync(marker)).toBe(false);
  }, 30_000);

  it("a dotted extension is looked up with `:` and cannot reach a dot-file such as .qmail-.. or .qmail-x.y", async () => {
    const made = await makeLspawnRoot(bed);
    makeMaildir(join(made.home("alice"), "colon"));
    makeMaildir(join(made.home("alice"), "dotted"));
    made.dotQmails("alice", { ".qmail-x:y": "./colon/\n", ".qmail-x.y": "./dotted/\n", ".qmail-..": "./dotted/\n" });
    await bed.start();
    await inject(made.queueDir, SENDER, ["alice-X.Y@example.test", "alice-..@example.test"]);
    await waitForMessages(join(made.home("alice"), "colon"), 1);
    await waitForDelivery(made.root, /failure: Sorry,_no_mailbox_here_by_that_name\./);
    expect(newMessages(join(made.home("alice"), "dotted"))).toEqual([]);
  }, 30_000);

  it("CR or LF in the sender or a recipient is refused at the queue's door, so no delivered header can be forged", async () => {
    const made = await makeLspawnRoot(bed);
    const body = async function* (): AsyncGenerator<Uint8Array> {
      yield Buffer.from("Subject: x\n\ny\n");
    };
    for (const envelope of [
      { sender: "a@b.test\nX-Injected: yes", recipients: ["alice@example.test"] },
      { sender: "a@b.test\r", recipients: ["alice@example.test"] },
      { sender: "a@b.test", recipients: ["alice@example.test\nX-Injected: yes"] },
    ]) {
      const result = await enqueue(made.queueDir, body(), envelope, { invokedBy: { uid: 1000 } });
      expect(result.ok).toBe(false);
    }
    expect(leftovers(made.queueDir)).toEqual([]);
  }, 30_000);
});

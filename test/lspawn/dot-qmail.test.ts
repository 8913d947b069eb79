// .qmail search and parsing, the qmail-local lines, and mbox locking, against real files.

import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { clock } from "../../supervisors/clock.js";
import { ctimeUtc, fromLine } from "../../src/services/lspawn/delivery-lines.js";
import { DotQmailFiles, findDotQmail, parseDotQmail, safeExtension } from "../../src/services/lspawn/dot-qmail.js";
import { deliverMbox, mboxText } from "../../src/services/lspawn/mbox-delivery.js";
import { writerFor } from "../../src/services/lspawn/prepare.js";
import type { LocalUser } from "../../src/config/local-user.js";

let dir = "";
const fresh = (): string => (dir = mkdtempSync(join(tmpdir(), "tsqmail-dotqmail-")));
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}
/** The home as a delivery finds it, with nothing kept from before. */
const listed = (home: string) => new DotQmailFiles().home(home);
afterEach(() => {
  clock.reset();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
  dir = "";
});

describe(".qmail files", () => {
  it("an extension cannot leave the home: dots and slashes become colons, case is folded", () => {
    expect(safeExtension("../../etc/Passwd")).toBe("::::::etc:passwd");
  });

  it("searches .qmail-a-b-c, then -a-b-c-default … -default, and sets DEFAULT in the original case", async () => {
    const home = fresh();
    writeFileSync(join(home, ".qmail-a-default"), "./a/\n");
    writeFileSync(join(home, ".qmail-default"), "./all/\n");
    expect(await findDotQmail(await listed(home), "-", "a-B-c")).toMatchObject({ name: ".qmail-a-default", defaultPart: "B-c" });
    expect(await findDotQmail(await listed(home), "-", "z")).toMatchObject({ name: ".qmail-default", defaultPart: "z" });
    expect(await findDotQmail(await listed(home), "", "")).toBeUndefined();
    writeFileSync(join(home, ".qmaildefault"), "./q/\n");
    // qmail's quirk: with an empty dash the fallback name has no dash either.
    expect(await findDotQmail(await listed(home), "", "")).toMatchObject({ name: ".qmaildefault" });
  });

  it("refuses a world-writable .qmail (soft) and marks an x-bit file forward-only", async () => {
    const home = fresh();
    writeFileSync(join(home, ".qmail-w"), "./M/\n");
    chmodSync(join(home, ".qmail-w"), 0o646);
    await expect(findDotQmail(await listed(home), "-", "w")).rejects.toEqual({ status: "Z", text: "Uh-oh: .qmail file is writable. (#4.7.0)" });
    writeFileSync(join(home, ".qmail-x"), "&a@b\n");
    chmodSync(join(home, ".qmail-x"), 0o744);
    const found = await findDotQmail(await listed(home), "-", "x");
    expect(found?.forwardOnly).toBe(true);
    expect(thrown(() => parseDotQmail("./Maildir/\n", home, true))).toEqual({ status: "Z", text: "Uh-oh: .qmail has file delivery but has x bit set. (#4.7.0)" });
  });

  it("parses every line type; a blank first line is soft; later blank lines and trailing blanks are ignored", () => {
    expect(parseDotQmail("# c\n./Maildir/ \n\n/var/mbox\t\n|prog arg\n&a@b\nc@d\n", "/h", false)).toEqual([
      { kind: "maildir", path: "/h/Maildir/" },
      { kind: "mbox", path: "/var/mbox" },
      { kind: "program", command: "prog arg" },
      { kind: "forward", address: "a@b" },
      { kind: "forward", address: "c@d" },
    ]);
    expect(thrown(() => parseDotQmail("\n./Maildir/\n", "/h", false))).toEqual({ status: "Z", text: "Uh-oh: first line of .qmail file is blank. (#4.2.1)" });
    expect(thrown(() => parseDotQmail("+list\n|prog\n", "/h", false))).toEqual({ status: "Z", text: "Uh-oh: .qmail has prog delivery but has x bit set. (#4.7.0)" });
  });
});

describe("who writes", () => {
  const account = (source: LocalUser["source"], uid: number): LocalUser => ({ source, user: "u", uid, gid: uid, home: "/h", dash: "", ext: "" });

  it("virtual users and the runtime's own alias are delivered in-process; other accounts by a child as root, else refused soft", () => {
    expect(writerFor(account("virtual", 0), 0)).toBe("self");
    expect(writerFor(account("alias", 0), 0)).toBe("self");
    expect(writerFor(account("passwd", 1000), 1000)).toBe("self");
    expect(writerFor(account("passwd", 4321), 0)).toBe("account");
    expect(thrown(() => writerFor(account("assign", 0), 1000))).toEqual({ status: "Z", text: "Not allowed to perform deliveries as root. (#4.3.0)" });
    expect(thrown(() => writerFor(account("passwd", 4321), 1000))).toEqual({
      status: "Z",
      text: "Unable to deliver as u (uid 4321): only a runtime started as root can deliver as another account. (#4.3.0)",
    });
  });
});

describe("qmail-local lines", () => {
  it("writes ctime in UTC with a space-padded day, and a From_ line with no spaces in the sender", () => {
    expect(ctimeUtc(Date.UTC(2026, 0, 5, 7, 8, 9))).toBe("Mon Jan  5 07:08:09 2026");
    expect(fromLine("a b\tc\nd@e", 0)).toBe("From a-b-c-d@e Thu Jan  1 00:00:00 1970\n");
    expect(fromLine("", 0)).toBe("From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n");
  });
});

describe("mbox", () => {
  it("quotes >*From lines, adds the missing final newline and an empty line", () => {
    expect(mboxText(Buffer.from("From a\n>From b\n>>From c\nFrom\nx")).toString()).toBe(">From a\n>>From b\n>>>From c\nFrom\nx\n\n");
  });

  it("waits for a held dot-lock at most 30 s and fails soft; leaves the mbox untouched", async () => {
    const home = fresh();
    const mbox = join(home, "mbox");
    writeFileSync(mbox, "old\n");
    writeFileSync(`${mbox}.lock`, "");
    const delivery = deliverMbox(mbox, "From x\n", Buffer.from("new\n"));
    // The wait is measured on tsqmail's clock: move it past the 30 s while the lock is held.
    await new Promise((resolve) => setTimeout(resolve, 150));
    clock.jump(30_001);
    await expect(delivery).rejects.toEqual({ status: "Z", text: "File has been locked for 30 seconds straight. (#4.3.0)" });
    expect(readFileSync(mbox, "utf8")).toBe("old\n");
  });

  it("removes a lock left by a crash (older than 10 minutes) and delivers", async () => {
    const home = fresh();
    const mbox = join(home, "mbox");
    writeFileSync(`${mbox}.lock`, "");
    const old = Date.now() / 1000 - 3600;
    utimesSync(`${mbox}.lock`, old, old);
    await deliverMbox(mbox, "From x\n", Buffer.from("new\n"));
    expect(readFileSync(mbox, "utf8")).toBe("From x\nnew\n\n");
  });
});

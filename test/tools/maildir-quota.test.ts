// Maildir++ quota in Maildir delivery, on real maildirs: a maildir without maildirsize has no
// quota; with one, a delivery that fits is named ,S=<size> and adds a `<size> 1` line; one that
// does not is refused soft or hard; the file is recounted when it passes 5120 bytes, or when it
// claims "over quota" and is older than 15 minutes; a malformed file is a soft error naming file
// and line. The maildirs are made with the real `tsqmail maildirmake -q`.

import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { deliverMaildir } from "../../src/services/lspawn/maildir-delivery.js";
import { runCli } from "./tools-harness.js";

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function maildir(quota?: string): string {
  dir = mkdtempSync(join(tmpdir(), "tsqmail-quota-"));
  const md = join(dir, "Maildir");
  const made = runCli(quota === undefined ? ["maildirmake", md] : ["maildirmake", "-q", quota, md]);
  if (made.status !== 0) throw new Error(made.stderr);
  return `${md}/`;
}

const head = "Delivered-To: u@x.example\n";
const body = (bytes: number): Buffer => Buffer.from("x".repeat(bytes - head.length));
const sizeFile = (md: string): string => readFileSync(join(md, "maildirsize"), "latin1");

describe("Maildir++ quota", () => {
  it("without maildirsize there is no quota, and names stay qmail's", async () => {
    const md = maildir();
    await deliverMaildir(md, head, body(100_000), "soft");
    const [name] = readdirSync(join(md, "new"));
    expect(name).not.toMatch(/,S=/);
  });

  it("counts deliveries that fit and refuses the one that would pass the byte limit, soft by default", async () => {
    const md = maildir("250S");
    await deliverMaildir(md, head, body(100), "soft");
    await deliverMaildir(md, head, body(100), "soft");
    expect(sizeFile(md)).toBe("250S\n0 0\n100 1\n100 1\n");
    expect(readdirSync(join(md, "new")).every((n) => n.endsWith(",S=100"))).toBe(true);
    await expect(deliverMaildir(md, head, body(100), "soft")).rejects.toEqual({ status: "Z", text: "Mailbox is over quota. (#4.2.2)" });
    await expect(deliverMaildir(md, head, body(100), "hard")).rejects.toEqual({ status: "D", text: "Mailbox is over quota. (#5.2.2)" });
    expect(readdirSync(join(md, "new"))).toHaveLength(2);
    expect(readdirSync(join(md, "tmp"))).toEqual([]);
    // A delivery without a policy (a system account's, written by its own child process) is not limited.
    await deliverMaildir(md, head, body(100), undefined);
    expect(readdirSync(join(md, "new"))).toHaveLength(3);
  });

  it("limits the message count too", async () => {
    const md = maildir("1000000S,2C");
    await deliverMaildir(md, head, body(50), "hard");
    await deliverMaildir(md, head, body(50), "hard");
    await expect(deliverMaildir(md, head, body(50), "hard")).rejects.toEqual({ status: "D", text: "Mailbox is over quota. (#5.2.2)" });
  });

  it("an over-quota verdict from a file older than 15 minutes is checked by a recount (a reader deleted mail)", async () => {
    const md = maildir("250S");
    await deliverMaildir(md, head, body(200), "soft");
    for (const name of readdirSync(join(md, "new"))) unlinkSync(join(md, "new", name));
    await expect(deliverMaildir(md, head, body(100), "soft")).rejects.toMatchObject({ status: "Z" });
    const old = Date.now() / 1000 - 16 * 60;
    utimesSync(join(md, "maildirsize"), old, old);
    await deliverMaildir(md, head, body(100), "soft");
    expect(sizeFile(md)).toBe("250S\n0 0\n100 1\n");
  });

  it("a maildirsize past 5120 bytes is recounted before the check", async () => {
    const md = maildir("1000S");
    writeFileSync(join(md, "maildirsize"), `1000S\n${"1 1\n".repeat(1300)}`);
    await deliverMaildir(md, head, body(100), "soft");
    expect(sizeFile(md)).toBe("1000S\n0 0\n100 1\n");
  });

  it("a malformed maildirsize is a soft failure naming the file and line", async () => {
    const md = maildir("1000S");
    writeFileSync(join(md, "maildirsize"), "1000S\n5 1\nfive one\n");
    await expect(deliverMaildir(md, head, body(40), "hard")).rejects.toEqual({
      status: "Z",
      text: `Unable to read quota: ${md}maildirsize:3: expected "<bytes> <count>": "five one". (#4.3.0)`,
    });
    writeFileSync(join(md, "maildirsize"), "lots\n");
    await expect(deliverMaildir(md, head, body(40), "soft")).rejects.toMatchObject({ status: "Z", text: expect.stringContaining(`${md}maildirsize:1: not a quota definition`) });
  });
});

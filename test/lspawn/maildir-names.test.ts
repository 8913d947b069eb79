// Maildir names must be unique across many deliveries running at once in one process (one pid):
// 200 concurrent deliveries into one real maildir, all in the same millisecond or close to it,
// and then 200 recipients of one message through send and lspawn with concurrencylocal 50.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deliverMaildir, maildirName } from "../../src/services/lspawn/maildir-delivery.js";
import { inject, sendTestBed } from "../send/send-root.js";
import { makeLspawnRoot, makeMaildir, waitForMessages } from "./lspawn-root.js";

const bed = sendTestBed();

describe("maildir names", () => {
  it("escapes / and : in the host part and carries time, microseconds, pid, counter and randomness", () => {
    const name = maildirName(1_700_000_000_123);
    expect(name).toMatch(new RegExp(`^1700000000\\.M123000P${process.pid}Q\\d+R[0-9a-f]{8}\\.[^/:]+$`));
  });

  it("200 concurrent deliveries in one process get 200 distinct files in new/ and leave tmp/ empty", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsqmail-maildir-"));
    try {
      makeMaildir(dir);
      await Promise.all(Array.from({ length: 200 }, (_, i) => deliverMaildir(`${dir}/`, "Delivered-To: x@y\n", Buffer.from(`message ${i}\n`))));
      const names = readdirSync(join(dir, "new"));
      expect(new Set(names).size).toBe(200);
      expect(readdirSync(join(dir, "tmp"))).toEqual([]);
      const bodies = new Set(names.map((name) => readFileSync(join(dir, "new", name), "utf8")));
      expect(bodies.size).toBe(200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a missing maildir is a soft failure with qmail's text", async () => {
    await expect(deliverMaildir("/nonexistent/Maildir/", "", Buffer.from("x\n"))).rejects.toEqual({ status: "Z", text: "Unable to chdir to maildir. (#4.2.1)" });
  });

  it("200 recipients of one message, delivered by lspawn 50 at a time, land as 200 distinct files", async () => {
    const made = await makeLspawnRoot(bed);
    made.dotQmail("alice", ".qmail-default", "./Maildir/\n");
    writeFileSync(join(made.root, "control", "concurrencylocal"), "50\n");
    await bed.start();
    const recipients = Array.from({ length: 200 }, (_, i) => `alice-n${i}@example.test`);
    await inject(made.queueDir, "sender@elsewhere.test", recipients);
    const messages = await waitForMessages(join(made.home("alice"), "Maildir"), 200, 30_000);
    expect(new Set(messages.map((message) => /^Delivered-To: (.*)$/m.exec(message)?.[1])).size).toBe(200);
  }, 60_000);
});

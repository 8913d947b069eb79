// tcpto: qmail's rules for remembering hosts that time out, on a real file in qmail's format,
// read back by `tsqmail tcpto`'s formatter; and rspawn writing it when a host refuses.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatTcpto } from "../../src/cli/commands/tcpto.js";
import { siteFs } from "../../src/io/fs.js";
import { queueLayout } from "../../src/queue/queue-layout.js";
import { Tcpto, tcptoRecords } from "../../src/services/rspawn/tcpto.js";
import { unusedPort, waitFor } from "../runtime/test-root.js";
import { inject } from "../send/send-root.js";
import { rspawnBed } from "./rspawn-root.js";

const dir = mkdtempSync(join(tmpdir(), "tsqmail-tcpto-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rspawn = rspawnBed();

async function table(name: string): Promise<{ tcpto: Tcpto; file: string }> {
  const file = join(dir, name);
  writeFileSync(file, Buffer.alloc(1024, 0xff));
  // pid 0: the skip period is exactly 60 << 6 = 3840 s.
  const tcpto = new Tcpto(siteFs("test"), file, 0);
  await tcpto.clear();
  return { tcpto, file };
}

describe("Tcpto", () => {
  it("skips a host after two timeouts at least 120 s apart, for (60 + (pid & 31)) << 6 seconds", async () => {
    const { tcpto, file } = await table("skip");
    expect(tcptoRecords(readFileSync(file)).every((record) => record.count === 0)).toBe(true);
    await tcpto.note("192.0.2.7", true, 1000);
    expect(await tcpto.skip("192.0.2.7", 1001)).toBe(false);
    await tcpto.note("192.0.2.7", true, 1060); // within 120 s of the last: not counted
    expect(tcptoRecords(readFileSync(file))[0]).toEqual({ address: "192.0.2.7", count: 1, last: 1000 });
    await tcpto.note("192.0.2.7", true, 1200);
    expect(await tcpto.skip("192.0.2.7", 1200 + 3839)).toBe(true);
    expect(await tcpto.skip("192.0.2.7", 1200 + 3840)).toBe(false);
    expect(formatTcpto(readFileSync(file), 1300)).toBe("192.0.2.7 timed out 100 seconds ago; # recent timeouts: 2\n");
  });

  it("a connection that works clears the record; IPv6 is never recorded", async () => {
    const { tcpto, file } = await table("clear");
    await tcpto.note("192.0.2.8", true, 1000);
    await tcpto.note("192.0.2.8", true, 2000);
    await tcpto.note("192.0.2.8", false, 2001);
    expect(await tcpto.skip("192.0.2.8", 2002)).toBe(false);
    await tcpto.note("2001:db8::1", true, 3000);
    expect(formatTcpto(readFileSync(file), 3000)).toBe("");
  });

  it("a file that cannot be read or written is an empty table, never a failure", async () => {
    const tcpto = new Tcpto(siteFs("test"), join(dir, "missing", "tcpto"), 0);
    await expect(tcpto.clear()).rejects.toThrow();
    await tcpto.note("192.0.2.9", true, 1000);
    expect(await tcpto.skip("192.0.2.9", 1000)).toBe(false);
  });

  it("with every record taken, the one with the smallest last + count·1024 is reused", async () => {
    const { tcpto, file } = await table("full");
    for (let i = 0; i < 64; i++) await tcpto.note(`10.0.0.${i}`, true, 5000 + i);
    await tcpto.note("10.0.1.1", true, 9000);
    const records = tcptoRecords(readFileSync(file));
    expect(records[0]).toEqual({ address: "10.0.1.1", count: 1, last: 9000 });
    expect(records.filter((record) => record.count > 0)).toHaveLength(64);
  });
});

describe("rspawn and tcpto", () => {
  it("a refused connection is counted in queue/lock/tcpto (s/qmail counts refusals), as `tsqmail tcpto` shows", async () => {
    const port = await unusedPort();
    const queueDir = await rspawn.start(`remote.test:127.0.0.1;${port}`);
    await inject(queueDir, "sender@here.test", ["x@remote.test"]);
    await rspawn.deliveryLines("deferral");
    const file = queueLayout(queueDir).tcpto;
    await waitFor(() => formatTcpto(readFileSync(file), Math.floor(Date.now() / 1000)).includes("127.0.0.1 timed out"), 5000, "the tcpto record");
    expect(formatTcpto(readFileSync(file), Math.floor(Date.now() / 1000))).toMatch(/^127\.0\.0\.1 timed out \d+ seconds ago; # recent timeouts: 1\n$/);
  }, 60_000);
});

// rspawn against Debian Postfix's smtp-sink (unpacked, test/net/postfix-tools.ts), a server we
// did not write: a batch of recipients is one transaction (smtp-sink's dump shows one MAIL and
// every RCPT), the next message goes over the same session after RSET (smtp-sink is told to
// exit after that one session, so a second connection would fail), BODY=8BITMIME is announced
// (and SIZE is not, as smtp-sink does not offer it); and its fault options give qmail's texts — hard-rejected RCPTs, 421 after the dot.

import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sleep, unusedPort, waitFor } from "../runtime/test-root.js";
import { postfixTool } from "../net/postfix-tools.js";
import { inject } from "../send/send-root.js";
import { rspawnBed } from "./rspawn-root.js";

const rspawn = rspawnBed();
let sink: ChildProcess | undefined;
let dumps: string | undefined;

afterEach(() => {
  sink?.kill();
  sink = undefined;
  if (dumps !== undefined) rmSync(dumps, { recursive: true, force: true });
  dumps = undefined;
});

/** Starts smtp-sink with `options`, dumping each transaction into its own file; returns its port. */
async function startPostfixSink(options: string[]): Promise<number> {
  const tool = postfixTool("smtp-sink");
  const port = await unusedPort();
  dumps = mkdtempSync(join(tmpdir(), "tsqmail-pfsink-"));
  chmodSync(dumps, 0o777);
  // As root smtp-sink must drop privileges; nobody may write the dumps (the directory is 0777).
  const user = process.getuid?.() === 0 ? ["-u", "nobody"] : [];
  sink = spawn(tool.path, [...user, "-d", `${dumps}/%H%M%S.`, ...options, `127.0.0.1:${port}`, "10"], { env: tool.env, stdio: "ignore" });
  // A probe session (counted by -n) tells when it listens.
  for (const deadline = Date.now() + 10_000; !(await probe(port)); ) {
    if (Date.now() > deadline) throw new Error("smtp-sink did not listen");
    await sleep(50);
  }
  return port;
}

function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.end("QUIT\r\n");
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

const dumped = (): string[] => readdirSync(dumps!).map((name) => readFileSync(join(dumps!, name), "latin1"));

describe("rspawn and Postfix's smtp-sink", () => {
  it("a batch is one transaction; the next message takes the same session after RSET; BODY=8BITMIME only for the 8-bit one", async () => {
    const port = await startPostfixSink(["-n", "2"]);
    const queueDir = await rspawn.start(`remote.test:127.0.0.1;${port}`, { IDLETIMEOUT: "30" });
    await inject(queueDir, "sender@here.test", ["a@remote.test", "b@remote.test", "c@remote.test"], "Subject: caf\u00e9\n\nd\u00e9j\u00e0\n");
    await rspawn.deliveryLines("success", 3);
    await inject(queueDir, "sender@here.test", ["d@remote.test"]);
    const lines = await rspawn.deliveryLines("success", 4);
    expect(lines.every((line) => line.startsWith("127.0.0.1_accepted_message./Remote_host_said:_250_2.0.0_Ok"))).toBe(true);
    expect(rspawn.sendLog()).not.toMatch(/deferral|failure/);
    await waitFor(() => dumped().length === 2, 10_000, "two dumped transactions");
    const [batch, single] = dumped().sort((a, b) => (a.match(/X-Rcpt-Args/g) ?? []).length - (b.match(/X-Rcpt-Args/g) ?? []).length).reverse();
    expect(batch!.match(/^X-Rcpt-Args: .*$/gm)!.sort()).toEqual(["X-Rcpt-Args: <a@remote.test>", "X-Rcpt-Args: <b@remote.test>", "X-Rcpt-Args: <c@remote.test>"]);
    // smtp-sink offers 8BITMIME but not SIZE: no SIZE parameter goes out.
    expect(batch).toMatch(/^X-Mail-Args: <sender@here\.test> BODY=8BITMIME$/m);
    expect(single).toMatch(/^X-Mail-Args: <sender@here\.test>$/m);
    expect(single).toMatch(/^X-Rcpt-Args: <d@remote\.test>$/m);
  }, 90_000);

  it("hard-rejected RCPTs: every recipient D with 'Giving up'; a 421 after the dot: Z 'failed after I sent the message'", async () => {
    const port = await startPostfixSink(["-f", "RCPT"]);
    const queueDir = await rspawn.start(`remote.test:127.0.0.1;${port}`);
    await inject(queueDir, "sender@here.test", ["a@remote.test", "b@remote.test"]);
    const failures = await rspawn.deliveryLines("failure", 2);
    expect(failures.every((line) => /^127\.0\.0\.1_does_not_like_recipient\.\/Remote_host_said:_5\d\d_.*\/Giving_up_on_127\.0\.0\.1\.\/$/.test(line))).toBe(true);
    sink!.kill();
    await rspawn.bed.stop();

    const port2 = await startPostfixSink(["-Q", "."]);
    const queueDir2 = await rspawn.start(`remote.test:127.0.0.1;${port2}`);
    await inject(queueDir2, "sender@here.test", ["a@remote.test"]);
    const [deferral] = await rspawn.deliveryLines("deferral");
    expect(deferral).toMatch(/^127\.0\.0\.1_failed_after_I_sent_the_message\.\/Remote_host_said:_421_/);
  }, 90_000);
});

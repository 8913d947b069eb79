// qmqpd as qmail-qmqpd answers — one request, one reply netstring, then close — against raw
// requests, hostile netstrings (nothing queued, no reply), its connection rules, Debian Postfix's
// qmqp-source, and `tsqmail qmqpc` (the qmail-qmqpc interface) with failover across its servers.

import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { debianTcprules } from "../net/listener-harness.js";
import { postfixTool } from "../net/postfix-tools.js";
import { waitFor } from "../runtime/test-root.js";
import { NetstringClient, qmqpRequest, startRoot } from "./netstring-root.js";

const execFileAsync = promisify(execFile);
const cli = fileURLToPath(new URL("../../dist/src/cli/main.js", import.meta.url));
const K = /^Kok \d+ qp \d+$/;

describe("qmqpd", () => {
  it("queues a request for any domain (QMQP clients are trusted), with a Received line `with QMQP`, and closes", async () => {
    const hub = await startRoot({ qmqpd: {} });
    const client = new NetstringClient(await hub.port("qmqpd"));
    client.send(qmqpRequest("Subject: via qmqp\n\nbody\n", "sender@client.test", ["alice@example.test", "far@elsewhere.test"]));
    expect((await client.waitReplies(1))[0]).toMatch(K);
    await client.untilClosed();
    const [queued] = hub.queued();
    expect(queued!.envelope).toMatch(/Fsender@client\.test\0Talice@example\.test\0Tfar@elsewhere\.test\0$/);
    expect(queued!.mess).toMatch(/^Received: \(qmail \d+ invoked from network\); .*\nReceived: from unknown \(127\.0\.0\.1\)\n  by 127\.0\.0\.1 with QMQP; .*\nSubject: via qmqp\n\nbody\n$/);
  });

  it("refuses the whole message for an address of 1000 bytes or one with a NUL", async () => {
    const hub = await startRoot({ qmqpd: {} });
    for (const recipients of [[`${"a".repeat(990)}@example.test`], ["ok@example.test", "n\0ul@example.test"]]) {
      const client = new NetstringClient(await hub.port("qmqpd"));
      client.send(qmqpRequest("Subject: x\n\n", "s@client.test", recipients));
      expect(await client.waitReplies(1)).toEqual(["Dsorry, I can't accept addresses like that (#5.1.3)"]);
    }
    expect(hub.queueFiles()).toEqual([]);
  });

  it.each([
    ["a non-digit length", "3x:"],
    ["a huge length", "9999999999:"],
    ["a missing comma after the message", "20:5:hello;1:s,1:r,,"],
    ["a missing comma after the request", "18:5:hello,1:s,1:r,;"],
    ["an inner netstring longer than the request", "12:5:hello,9:s,"],
    ["a request cut short", "100:5:hello,1:s,"],
  ])("closes on %s with no reply and nothing queued", async (_, bytes) => {
    const hub = await startRoot({ qmqpd: {} });
    const client = new NetstringClient(await hub.port("qmqpd"));
    client.send(bytes);
    // The cut-short request stays open until the client gives up: half-close it.
    client.socket.end();
    await client.untilClosed();
    expect(client.replies).toEqual([]);
    await waitFor(() => /end protocol-error: /.test(hub.log("qmqpd")), 10_000, "the protocol error in the log");
    expect(hub.queueFiles()).toEqual([]);
  });

  it("streams a huge hostile message through without holding it, then refuses it for its missing comma", async () => {
    const hub = await startRoot({ qmqpd: {} });
    const client = new NetstringClient(await hub.port("qmqpd"));
    const size = 190 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 0x78);
    const before = process.memoryUsage().rss;
    let peak = before;
    client.send(`${size + 100}:${size}:`);
    for (let sent = 0; sent < size; sent += chunk.length) {
      if (!client.socket.write(chunk)) await new Promise((resolve) => client.socket.once("drain", resolve));
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    client.send(";");
    await client.untilClosed(60_000);
    expect(client.replies).toEqual([]);
    await waitFor(() => /end protocol-error: malformed netstring: missing-comma/.test(hub.log("qmqpd")), 10_000, "the protocol error in the log");
    expect(hub.queueFiles()).toEqual([]);
    // The runtime's workers live in this process: its resident size must not have grown by anything like the message.
    expect(peak - before).toBeLessThan(size / 3);
  }, 120_000);

  it("serves only the clients its rules allow", async () => {
    const hub = await startRoot({ qmqpd: {} });
    debianTcprules(join(hub.root, "service", "qmqpd", "rules.cdb"), "127.0.0.1:deny\n");
    hub.runtime.svc("h", ["qmqpd"]);
    const port = await hub.port("qmqpd");
    await waitFor(() => /reloaded service\/qmqpd\/rules\.cdb/.test(hub.log("qmqpd")), 15_000, "the rules reloaded");
    const client = new NetstringClient(port);
    client.send(qmqpRequest("Subject: x\n\n", "s@client.test", ["alice@example.test"]));
    await client.untilClosed();
    expect(client.replies).toEqual([]);
    expect(hub.queueFiles()).toEqual([]);
  });

  it("takes Debian Postfix's qmqp-source: parallel sessions, several recipients each", async () => {
    const hub = await startRoot({ qmqpd: {} });
    const port = await hub.port("qmqpd");
    const tool = postfixTool("qmqp-source");
    const run = await execFileAsync(tool.path, ["-4", "-s", "3", "-m", "12", "-r", "3", "-l", "4000", "-M", "client.test", "-f", "source@client.test", "-t", "rcpt@example.test", `127.0.0.1:${port}`], { env: tool.env, timeout: 60_000 });
    expect(run.stderr).not.toMatch(/fatal|warning/);
    const queued = hub.queued();
    expect(queued).toHaveLength(12);
    for (const message of queued) {
      expect(message.envelope).toMatch(/Fsource@client\.test\0Tr?\d*rcpt@example\.test\0T.*\0T.*\0$/);
      expect(message.mess).toMatch(/with QMQP; /);
    }
  }, 120_000);
});

describe("tsqmail qmqpc", () => {
  /** Runs qmqpc with the message on fd 0 and the envelope on fd 1, as qmail's injectors run qmail-queue. */
  async function qmqpc(root: string, message: string, envelope: string): Promise<number> {
    writeFileSync(join(root, "qmqpc-message"), message);
    writeFileSync(join(root, "qmqpc-envelope"), Buffer.from(envelope, "latin1"));
    try {
      await execFileAsync("bash", ["-c", `exec node "${cli}" qmqpc --root "${root}" <"${root}/qmqpc-message" 1<"${root}/qmqpc-envelope"`], { timeout: 60_000 });
      return 0;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== "number") throw error;
      return code;
    }
  }

  it("hands the message to the first server that answers, and exits as qmail-qmqpc", async () => {
    const hub = await startRoot({ qmqpd: {} });
    const port = await hub.port("qmqpd");
    // A port with nothing listening: the first server refuses the connection.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const dead = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));

    const client = await startRoot({}, { queue: false });
    expect(await qmqpc(client.root, "Subject: x\n\n", "Fs@client.test\0Talice@example.test\0\0")).toBe(55);
    writeFileSync(join(client.root, "control", "qmqpservers"), `127.0.0.1:${dead}\n127.0.0.1:${port}\n`);
    expect(await qmqpc(client.root, "Subject: failover\n\nhello\n", "Fs@client.test\0Talice@example.test\0\0")).toBe(0);
    expect(hub.queued().map((m) => m.mess.slice(m.mess.indexOf("Subject")))).toEqual(["Subject: failover\n\nhello\n"]);
    expect(await qmqpc(client.root, "Subject: x\n\n", `Fs@client.test\0T${"a".repeat(1200)}@example.test\0\0`)).toBe(11);
    expect(await qmqpc(client.root, "Subject: x\n\n", "Xbad\0\0")).toBe(91);
    writeFileSync(join(client.root, "control", "qmqpservers"), `127.0.0.1:${dead}\n`);
    expect(await qmqpc(client.root, "Subject: x\n\n", "Fs@client.test\0Talice@example.test\0\0")).toBe(73);
    expect(hub.queued()).toHaveLength(1);
  }, 120_000);
});

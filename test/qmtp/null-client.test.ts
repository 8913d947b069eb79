// Distributed queueing over QMQP with real runtimes on loopback: null clients (roots without a
// queue, with control/qmqpservers) take mail over SMTP and hand it to hubs (send + the real lspawn
// + qmqpd) that deliver it into maildirs. Then a hub is SIGKILLed in the middle of a QMQP
// transfer — a relay in front of it kills it when part of a request has gone through — and the
// clients fail over to the second hub (or defer with 4xx, and the sender retries); the killed hub
// delivers nothing until it is restarted, and then every message any client accepted with 250 is
// in a maildir: none lost.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import nodemailer from "nodemailer";
import { afterEach, describe, expect, it } from "vitest";
import { makeLspawnRoot, newMessages, waitForMessages, type LspawnRoot } from "../lspawn/lspawn-root.js";
import { listeningPort, logText, unusedPort, waitFor } from "../runtime/test-root.js";
import { sendTestBed, type SendTestBed } from "../send/send-root.js";
import { startRoot, type NetstringRoot } from "./netstring-root.js";

const cli = fileURLToPath(new URL("../../dist/src/cli/main.js", import.meta.url));
const bedA = sendTestBed();
const bedB = sendTestBed();

const children = new Set<ChildProcess>();
const servers = new Set<Server>();
afterEach(async () => {
  for (const child of children) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }
  children.clear();
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  servers.clear();
});

/** A hub root: send, the real lspawn with virtual users alice and bob, and qmqpd. */
async function makeHub(bed: SendTestBed, port = 0): Promise<LspawnRoot> {
  const hub = await makeLspawnRoot(bed);
  const dir = join(hub.root, "service", "qmqpd");
  mkdirSync(join(dir, "env"), { recursive: true });
  writeFileSync(join(dir, "module"), "qmqpd\n");
  for (const [key, value] of Object.entries({ IP: "127.0.0.1", PORT: String(port), REVERSE: "0" })) writeFileSync(join(dir, "env", key), `${value}\n`);
  return hub;
}

/** A null client: no queue, qmqpservers naming the hubs, smtpd as its injector. */
async function nullClient(name: string, hubs: readonly number[]): Promise<NetstringRoot> {
  return startRoot(
    { smtpd: {} },
    { queue: false, files: { "control/me": `${name}.example.test`, "control/qmqpservers": hubs.map((port) => `127.0.0.1:${port}`).join("\n") } },
  );
}

/** Sends over SMTP; resolves to the reply code (250, or the 4xx/5xx of a refusal). */
async function smtpSend(port: number, subject: string, text: string): Promise<number> {
  const transport = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true });
  try {
    const sent = await transport.sendMail({ from: "writer@client.test", to: "alice@example.test", subject, text });
    return Number(sent.response.slice(0, 3));
  } catch (error) {
    const code = (error as { responseCode?: number }).responseCode;
    if (code === undefined) throw error;
    return code;
  } finally {
    transport.close();
  }
}

const subjects = (maildir: string): string[] => newMessages(maildir).map((m) => /^Subject: (.*)$/m.exec(m)?.[1] ?? "?");

describe("null clients over QMQP", () => {
  it("two null clients forward to a hub that delivers locally", async () => {
    const hub = await makeHub(bedA);
    await bedA.start();
    const port = await listeningPort(hub.root, "qmqpd");
    const clients = [await nullClient("one", [port]), await nullClient("two", [port])];
    for (const [i, client] of clients.entries()) expect(await smtpSend(await client.port("smtpd"), `from client ${i}`, `hello from ${i}\n`)).toBe(250);
    const delivered = await waitForMessages(join(hub.home("alice"), "Maildir"), 2, 20_000);
    expect(subjects(join(hub.home("alice"), "Maildir")).sort()).toEqual(["from client 0", "from client 1"]);
    for (const message of delivered) {
      // The client's smtpd line, then the hub's qmqpd line, then qmail-queue's: one hop each.
      expect(message).toMatch(/Received: \(qmail \d+ invoked from network\);[^\n]*\nReceived: from unknown \(127\.0\.0\.1\)\n  by 127\.0\.0\.1 with QMQP;[^\n]*\nReceived: from [^\n]*\n  by [^\n]* with E?SMTP/);
    }
    // The null clients kept nothing: they have no queue.
    for (const client of clients) expect(client.queueFiles()).toEqual([]);
  }, 120_000);

  it("with no hub reachable the client defers (4xx) and keeps nothing", async () => {
    const client = await nullClient("lonely", [await unusedPort()]);
    expect(await smtpSend(await client.port("smtpd"), "nowhere to go", "hello\n")).toBe(451);
    expect(client.queueFiles()).toEqual([]);
  }, 60_000);

  it("a hub SIGKILLed mid-transfer: clients fail over or defer; after its restart every accepted message is delivered", async () => {
    // Hub A runs as its own `tsqmail start` process so it can be SIGKILLed; hub B runs in-process.
    // Hub A's send is down until the restart: what it accepted waits in its queue through the kill.
    const portA = await unusedPort();
    const hubA = await makeHub(bedA, portA);
    const sendDown = join(hubA.root, "service", "send", "down");
    writeFileSync(sendDown, "");
    const startA = (): ChildProcess => {
      const child = spawn(process.execPath, [cli, "start", "--root", hubA.root], { stdio: "ignore", detached: true });
      children.add(child);
      return child;
    };
    let processA = startA();
    const hubB = await makeHub(bedB);
    await bedB.start();
    const portB = await listeningPort(hubB.root, "qmqpd");
    await waitFor(() => /qmqpd: listening on port/.test(logText(hubA.root, "qmqpd")), 30_000, "hub A's qmqpd");

    // The relay in front of hub A: after 64 KB of the third request it kills hub A, mid-stream.
    let connections = 0;
    let killedMidStream = false;
    const relay = createServer((downstream: Socket) => {
      const n = ++connections;
      const upstream = connect({ port: portA, host: "127.0.0.1" });
      let forwarded = 0;
      downstream.on("error", () => upstream.destroy());
      upstream.on("error", () => downstream.destroy());
      upstream.on("close", () => downstream.destroy());
      downstream.on("close", () => upstream.destroy());
      upstream.on("data", (chunk: Buffer) => downstream.write(chunk));
      downstream.on("data", (chunk: Buffer) => {
        if (killedMidStream || n < 3) return void upstream.write(chunk);
        upstream.write(chunk.subarray(0, Math.max(0, 65536 - forwarded)));
        forwarded += chunk.length;
        if (forwarded >= 65536) {
          killedMidStream = true;
          downstream.pause();
          process.kill(-processA.pid!, "SIGKILL");
        }
      });
    });
    servers.add(relay);
    await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
    const relayPort = (relay.address() as { port: number }).port;

    const clients = [await nullClient("one", [relayPort, portB]), await nullClient("two", [relayPort, portB])];
    const accepted: string[] = [];
    const deferred: string[] = [];
    const body = `${"a line of a message big enough to take a while\n".repeat(4000)}`;
    await Promise.all(
      clients.map(async (client, c) => {
        const port = await client.port("smtpd");
        for (let i = 0; i < 6; i++) {
          const subject = `client ${c} message ${i}`;
          // A deferred message is retried, as an SMTP client would, until it is accepted.
          for (let attempt = 0; ; attempt++) {
            const code = await smtpSend(port, subject, body);
            if (code === 250) {
              accepted.push(subject);
              break;
            }
            expect(code).toBeGreaterThanOrEqual(400);
            expect(code).toBeLessThan(500);
            deferred.push(subject);
            expect(attempt).toBeLessThan(5);
          }
        }
      }),
    );
    expect(killedMidStream).toBe(true);
    expect(accepted).toHaveLength(12);

    // Hub A committed some messages before it died (the first two connections went through
    // whole); none is delivered yet, its send being down. Its queue says which, not its log: a
    // SIGKILL can take the log lines of its last 20 ms with it (docs/supervision.md, Logs).
    const acceptedByA = readdirSync(join(hubA.root, "queue", "todo")).length;
    expect(acceptedByA).toBeGreaterThan(0);
    expect(subjects(join(hubA.home("alice"), "Maildir"))).toEqual([]);
    // Hub A comes back, send with it; whatever it had acknowledged is delivered now.
    rmSync(sendDown);
    processA = startA();
    const maildirs = [join(hubA.home("alice"), "Maildir"), join(hubB.home("alice"), "Maildir")];
    const delivered = (): string[] => maildirs.flatMap(subjects);
    await waitFor(() => accepted.every((subject) => delivered().includes(subject)), 60_000, `every accepted message delivered, got ${JSON.stringify(delivered().sort())}`);
    // Both hubs took a share: hub A before its death, hub B after it.
    expect(subjects(maildirs[0]!).length).toBeGreaterThanOrEqual(acceptedByA);
    expect(subjects(maildirs[1]!).length).toBeGreaterThan(0);
    console.log(`null-client failover: ${accepted.length} accepted, ${deferred.length} deferrals retried, ${delivered().length - new Set(delivered()).size} duplicates; hub A ${subjects(maildirs[0]!).length}, hub B ${subjects(maildirs[1]!).length}`);
  }, 240_000);
});

// Node to node: two full roots on loopback, each with its own queue. Node A's qmtproutes sends
// a domain to node B; A's send and the real rspawn hand the message over QMTP (or QMTPS, when the
// route names port 6209) to B's qmtpd/qmtps, whose send and real lspawn deliver it to a maildir.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ensureServerCertificate } from "../../src/root/server-certificate.js";
import { makeLspawnRoot, waitForMessages, type LspawnRoot } from "../lspawn/lspawn-root.js";
import { listeningPort, logText, waitFor } from "../runtime/test-root.js";
import { inject, sendTestBed, type SendTestBed } from "../send/send-root.js";

const bedA = sendTestBed();
const bedB = sendTestBed();

/** QMTPS has no port of its own in a route: 6209 is what makes rspawn speak TLS. */
const QMTPS_PORT = 6209;

function addService(root: string, name: string, env: Readonly<Record<string, string>>): void {
  const dir = join(root, "service", name);
  mkdirSync(join(dir, "env"), { recursive: true });
  writeFileSync(join(dir, "module"), `${name}\n`);
  for (const [key, value] of Object.entries({ IP: "127.0.0.1", REVERSE: "0", ...env })) writeFileSync(join(dir, "env", key), `${value}\n`);
}

/** Node B: delivers example.test locally (alice, bob) and takes it over QMTP and QMTPS. */
async function nodeB(bed: SendTestBed): Promise<LspawnRoot> {
  const node = await makeLspawnRoot(bed);
  writeFileSync(join(node.root, "control", "rcpthosts"), "example.test\n");
  await ensureServerCertificate(join(node.root, "control"), "b.example.test");
  addService(node.root, "qmtpd", { PORT: "0" });
  addService(node.root, "qmtps", { PORT: String(QMTPS_PORT) });
  return node;
}

/** Node A: a full node for a.test whose qmtproutes sends example.test to node B. */
async function nodeA(bed: SendTestBed, route: string): Promise<string> {
  const made = await bed.makeRoot({ control: { me: "a.test", locals: "a.test", qmtproutes: route }, spawners: [] });
  addService(made.root, "rspawn", {});
  return made.queueDir;
}

describe("QMTP between two full nodes", () => {
  it.each([
    ["QMTP", (port: number) => `example.test:127.0.0.1:${port}`],
    ["QMTPS", () => `example.test:127.0.0.1:${QMTPS_PORT}`],
  ] as const)("node A relays to node B over %s, which delivers locally", async (protocol, route) => {
    const b = await nodeB(bedB);
    await bedB.start();
    const qmtpPort = await listeningPort(b.root, "qmtpd");
    await listeningPort(b.root, "qmtps");
    const queueA = await nodeA(bedA, route(qmtpPort));
    await bedA.start();
    const id = await inject(queueA, "writer@a.test", ["alice@example.test"], `Subject: over ${protocol}\n\nfrom node A\n`);
    bedA.runtime.svc("a", ["send"]);
    const [message] = await waitForMessages(join(b.home("alice"), "Maildir"), 1, 30_000);
    expect(message).toContain(`Subject: over ${protocol}\n`);
    // B's qmtpd (or qmtps) line names the protocol it took the message with.
    expect(message).toMatch(new RegExp(`\\n  by [^\\n]* with ${protocol};`));
    await waitFor(() => logText(bedA.made.root, "send").includes(`end msg ${id}`), 20_000, "node A done with the message");
    expect(logText(bedA.made.root, "send")).toMatch(/delivery \d+: success: /);
  }, 120_000);
});

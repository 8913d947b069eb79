// The chaos run's POP3 reader and how the invariants account for it: against a real pop3d on a
// chaos root, a clean session retrieves and deletes every message; a failed unlink at QUIT is an
// -ERR that leaves the messages in place (nothing counted deleted); a server that +OKs a message
// that is not whole, or lists a message again after its deletion was confirmed, is a wrong answer;
// and a message POP3 took counts as delivered once it is gone from the Maildir, while one that
// vanished without being retrieved is unaccounted for; and a POP3 session after the drain that
// does not go through cleanly is a violation.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { prepareRoot } from "../../src/chaos/chaos-run.js";
import { checkInvariants, POP3_PASSWORD, POP3_USER } from "../../src/chaos/invariants.js";
import { addPop3Session, emptyPop3Tally, popMailbox } from "../../src/chaos/pop3-load.js";
import { createQueue } from "../../src/queue/create-queue.js";
import { rootPaths } from "../../src/root/paths.js";
import { BUILTIN_SERVICES } from "../../src/runtime/builtin-services.js";
import { createRuntime, type Runtime } from "../../src/runtime/runtime.js";
import { deliverMaildir } from "../../src/services/lspawn/maildir-delivery.js";
import { listeningPort } from "../runtime/test-root.js";

const chaosMessage = (id: string): Buffer => Buffer.from(`Subject: chaos ${id}\nX-Chaos-Id: ${id}\n\nchaos test message ${id}\n`);

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), "tsqmail-chaos-pop3-"));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

/** A chaos root with only pop3d up. */
async function pop3Root(): Promise<{ runtime: Runtime; port: number; maildir: string; files(): string[] }> {
  const root = tempRoot();
  await prepareRoot(root, 9);
  for (const service of BUILTIN_SERVICES) if (service.name !== "pop3d") writeFileSync(join(rootPaths(root).serviceDir(service.name), "down"), "");
  const runtime = createRuntime({ root });
  cleanups.push(() => runtime.stop());
  await runtime.start();
  const maildir = join(rootPaths(root).home, POP3_USER, "Maildir");
  return {
    runtime,
    port: await listeningPort(root, "pop3d"),
    maildir,
    files: () => ["new", "cur"].flatMap((sub) => readdirSync(join(maildir, sub))),
  };
}

/** Delivers as lspawn does; the time moves past the second, since pop3d skips files of this very second. */
async function deliver(maildir: string, ...ids: string[]): Promise<void> {
  for (const id of ids) await deliverMaildir(maildir, "", chaosMessage(id));
  const second = Math.floor(Date.now() / 1000);
  while (Math.floor(Date.now() / 1000) === second) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe("the chaos POP3 reader on a real pop3d", () => {
  it("retrieves and deletes every message; a failed unlink at QUIT is an -ERR that deletes nothing", async () => {
    const { runtime, port, maildir, files } = await pop3Root();
    await deliver(maildir, "c-1", "c-2");
    const clean = await popMailbox(port, POP3_USER, POP3_PASSWORD);
    expect(clean).toMatchObject({ outcome: "quit", wrong: [] });
    expect(clean.retrieved.map((copy) => copy.id).sort()).toEqual(["c-1", "c-2"]);
    expect([...clean.deleted].sort()).toEqual([...clean.listed].sort());
    expect(files()).toEqual([]);

    runtime.faults.install({ seed: 1, rules: [{ kind: "fs-eio", seam: "fs", site: "pop3", op: "unlink", probability: 1, code: "EIO" }], actions: [] });
    await deliver(maildir, "c-3");
    const failed = await popMailbox(port, POP3_USER, POP3_PASSWORD);
    expect(failed).toMatchObject({ outcome: "refused-step", deleted: [], wrong: [], detail: "QUIT: -ERR unable to unlink all deleted messages" });
    expect(failed.retrieved.map((copy) => copy.id)).toEqual(["c-3"]);
    expect(files()).toHaveLength(1);
  }, 60_000);
});

describe("wrong POP3 answers", () => {
  it("a +OK'd message that is not whole, and a confirmed deletion listed again, are recorded", async () => {
    const server = createServer((socket) => {
      socket.write("+OK ready\r\n");
      socket.on("data", (chunk) => {
        for (const line of chunk.toString().split("\r\n").filter(Boolean)) {
          if (line === "UIDL") socket.write("+OK\r\n1 uid-gone\r\n.\r\n");
          else if (line.startsWith("RETR")) socket.write("+OK\r\nX-Chaos-Id: c-9\r\n\r\nchaos test mess\r\n.\r\n");
          else if (line === "QUIT") socket.end("+OK bye\r\n");
          else socket.write("+OK\r\n");
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const session = await popMailbox((server.address() as { port: number }).port, "u", "p");
    expect(session.outcome).toBe("quit");
    expect(session.retrieved).toEqual([]);
    expect(session.wrong).toEqual([expect.stringMatching(/^POP3 RETR 1 \(uid-gone\): \+OK with a message that is not whole/)]);

    const tally = emptyPop3Tally();
    tally.deleted.add("uid-gone");
    addPop3Session(tally, session);
    expect(tally.wrong).toContainEqual("POP3 listed uid-gone again after a QUIT +OK confirmed its deletion");
  });
});

describe("accounting for POP3 in the invariants", () => {
  it("a message POP3 took counts as delivered; one gone from the Maildir without it is unaccounted", async () => {
    const root = tempRoot();
    const maildir = join(rootPaths(root).home, POP3_USER, "Maildir");
    for (const sub of ["new", "cur", "tmp"]) mkdirSync(join(maildir, sub), { recursive: true });
    writeFileSync(join(maildir, "cur", "1.still:2,"), chaosMessage("kept"));
    const accepted = (id: string) => ({ id, recipient: `${POP3_USER}@example.test`, result: { outcome: "accepted" as const, detail: "250 ok" } });
    const pop3 = emptyPop3Tally();
    addPop3Session(pop3, { outcome: "quit", listed: ["2.taken"], retrieved: [{ uid: "2.taken", id: "taken" }], deleted: ["2.taken"], wrong: [], detail: "QUIT: +OK" });
    const input = { root, seed: 1, sinkReceived: new Map(), counts: new Map(), services: [], peakRss: 0, maxRssBytes: 1, pop3 };
    const report = await checkInvariants({ ...input, results: [accepted("kept"), accepted("taken"), accepted("vanished")] });
    expect(report.unaccounted).toEqual(["vanished"]);
    expect(report.delivered.local).toBe(2);
    expect(report.duplicates.local).toBe(0);
    expect(report.pop3).toMatchObject({ retrieved: 1, deleted: 1 });

    // A second copy of "kept" (another file) is a duplicate; the same copy seen by POP3 is not.
    addPop3Session(pop3, { outcome: "refused-step", listed: ["1.still"], retrieved: [{ uid: "1.still", id: "kept" }], deleted: [], wrong: [], detail: "QUIT: -ERR" });
    expect((await checkInvariants({ ...input, results: [accepted("kept")] })).duplicates.local).toBe(0);
    writeFileSync(join(maildir, "new", "3.again"), readFileSync(join(maildir, "cur", "1.still:2,")));
    expect((await checkInvariants({ ...input, results: [accepted("kept")] })).duplicates.local).toBe(1);
  });

  it("pop3d must serve a clean session after the drain", async () => {
    const root = tempRoot();
    await createQueue(rootPaths(root).queue);
    const input = { root, seed: 1, sinkReceived: new Map(), counts: new Map(), services: [], peakRss: 0, maxRssBytes: 1, pop3: emptyPop3Tally(), results: [] };
    const plan = { seed: 1, rules: [], actions: [] };
    const busy = { outcome: "dropped" as const, listed: [], retrieved: [], deleted: [], wrong: [], detail: "greeting: connection closed" };
    expect((await checkInvariants({ ...input, plan, pop3AtEnd: busy })).violations).toEqual(["pop3d does not serve at the end, with no faults: greeting: connection closed"]);
    expect((await checkInvariants({ ...input, plan, pop3AtEnd: { ...busy, outcome: "quit", detail: "QUIT: +OK" } })).violations).toEqual([]);
  });
});

// The Stately exporter against a real WebSocket relay that plays @statelyai/inspect's server side
// (createInspectorServer takes text frames from inspectors and passes them on; its receivers
// JSON.parse each one): a real runtime, a real SMTP session with AUTH PLAIN, and the relay
// started only after the runtime, so the exporter must retry and send what waited. Every frame
// must have the shape the protocol defines, and a machine definition must rebuild the machine as
// Stately's viewer does, with createMachine(JSON.parse(definition)).

import { createMachine } from "xstate";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { startStatelyExporter } from "../../src/inspect/stately-exporter.js";
import { RawClient } from "../smtpd/smtpd-harness.js";
import { unusedPort, waitFor } from "../runtime/test-root.js";
import { b64, PASSWORD, startInspected } from "./inspect-root.js";

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Frame = Record<string, unknown> & { type: string; sessionId: string; rootId: string };

/** The relay: every text frame an inspector sends, parsed as a receiver parses it. */
async function startRelay(port: number): Promise<{ frames: Frame[]; raw: string[] }> {
  const server = new WebSocketServer({ port, host: "127.0.0.1" });
  cleanups.push(() => {
    // Its server waits for open connections: end the exporter's first.
    for (const client of server.clients) client.terminate();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  await new Promise((resolve) => server.once("listening", resolve));
  const relay = { frames: [] as Frame[], raw: [] as string[] };
  server.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => {
      expect(isBinary).toBe(false);
      relay.raw.push(data.toString());
      relay.frames.push(JSON.parse(data.toString()) as Frame);
    });
  });
  return relay;
}

describe("the @statelyai/inspect exporter", () => {
  it("sends a session's actor, events and snapshots in the protocol's shapes, after the relay comes up", async () => {
    const port = await unusedPort();
    const mail = await startInspected({ stately: `ws://127.0.0.1:${port}` });
    cleanups.push(() => mail.close());

    // The session runs while nothing listens: its events wait for the relay.
    const client = new RawClient(await mail.smtpPort());
    await client.replies(1);
    client.send(`EHLO client.test\r\nAUTH PLAIN ${b64(`\0alice\0${PASSWORD}`)}\r\nQUIT\r\n`);
    await client.untilClosed();
    expect(client.text).toMatch(/^235 /m);

    const relay = await startRelay(port);
    const session = (): Frame | undefined => relay.frames.find((f) => f.type === "@xstate.actor" && f.name === "smtp-session");
    await waitFor(
      () => relay.frames.some((f) => f.type === "@xstate.snapshot" && f.sessionId === session()?.sessionId && (f.snapshot as { status: string }).status === "done"),
      20_000,
      "the session's last snapshot at the relay",
    );

    for (const frame of relay.frames) {
      expect(["@xstate.actor", "@xstate.event", "@xstate.snapshot"]).toContain(frame.type);
      expect(frame).toMatchObject({ id: null, _version: expect.stringMatching(/^0\.7\./), createdAt: expect.stringMatching(/^\d{13}$/) });
      expect(typeof frame.sessionId).toBe("string");
      expect(typeof frame.rootId).toBe("string");
    }
    const actor = session()!;
    expect(actor.sessionId).toMatch(/^smtpd.*\/conn\/\d+$/);
    expect(actor.rootId).toBe(actor.sessionId);
    expect(actor.snapshot).toEqual({ status: "active" });
    const machine = createMachine(JSON.parse(actor.definition as string) as Parameters<typeof createMachine>[0]);
    expect(machine.id).toBe("smtp-session");
    expect(Object.keys(machine.states)).toContain("commands");

    const mine = relay.frames.filter((f) => f.rootId === actor.sessionId);
    const events = mine.filter((f) => f.type === "@xstate.event");
    expect(events.map((f) => (f.event as { type: string }).type)).toContain("xstate.init");
    const snapshots = mine.filter((f) => f.type === "@xstate.snapshot" && f.sessionId === actor.sessionId);
    expect(snapshots.map((f) => JSON.stringify((f.snapshot as { value: unknown }).value))).toContain(JSON.stringify({ commands: "reading" }));
    for (const snapshot of snapshots) {
      expect(snapshot.snapshot).toMatchObject({ status: expect.any(String), context: expect.any(Object) });
      expect(typeof (snapshot.event as { type: unknown }).type).toBe("string");
      // Records carry mostly the keys that changed; the protocol gets each context whole.
      expect(Object.keys((snapshot.snapshot as { context: object }).context)).toEqual(expect.arrayContaining(["settings", "command", "recipients", "challengeCount", "queued"]));
    }
    // EHLO's name and the AUTH user (redacted), each from an earlier snapshot's changes, are
    // still in the last context.
    expect((snapshots.at(-1)!.snapshot as { context: object }).context).toMatchObject({ helo: "client.test", authUser: "[redacted]", settings: expect.any(Object) });
    // An invoked child names its parent, and its root is the session.
    const children = mine.filter((f) => f.type === "@xstate.actor" && f.sessionId !== actor.sessionId);
    for (const child of children) expect(child.parentId).toBe(actor.sessionId);

    // Contexts and events come redacted from the workers: no credential reaches the relay.
    const all = relay.raw.join("\n");
    for (const secret of [PASSWORD, b64(PASSWORD), b64(`\0alice\0${PASSWORD}`)]) expect(all).not.toContain(secret);
  });

  it("refuses an address that is not ws:// or wss://", async () => {
    await expect(startStatelyExporter("http://127.0.0.1:8080")).rejects.toThrow(/must be ws:\/\/ or wss:\/\//);
  });
});

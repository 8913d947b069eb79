// The inspector against a real runtime: real HTTP and WebSocket clients, a real smtpd session,
// the recording and its replay, `tsqmail inspect --follow` as a real program, and the token rule
// off loopback. AUTH credentials must not appear in any byte the stream carries.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { JournalFeed } from "../../src/inspect/runtime-inspector.js";
import { startInspectServer } from "../../src/inspect/inspect-server.js";
import { serveRecording } from "../../src/inspect/replay.js";
import { unpackRecording, type InspectorFrame } from "../../src/inspect/inspector-frame.js";
import { RawClient } from "../smtpd/smtpd-harness.js";
import { waitFor } from "../runtime/test-root.js";
import { b64, PASSWORD, startInspected, StreamClient, type InspectedMail } from "./inspect-root.js";

const CLI = fileURLToPath(new URL("../../dist/src/cli/main.js", import.meta.url));
let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function inspected(options: Parameters<typeof startInspected>[0]): Promise<InspectedMail> {
  const mail = await startInspected(options);
  cleanups.push(() => mail.close());
  return mail;
}

/** One SMTP session with AUTH PLAIN and AUTH LOGIN carrying the password; returns its replies. */
/** Two sessions: AUTH PLAIN with an initial response, then AUTH LOGIN's exchange. */
async function authSession(port: number): Promise<string> {
  const plain = new RawClient(port);
  await plain.replies(1);
  plain.send(`EHLO client.test\r\nAUTH PLAIN ${b64(`\0alice\0${PASSWORD}`)}\r\nQUIT\r\n`);
  await plain.untilClosed();
  const login = new RawClient(port);
  await login.replies(1);
  login.send(`EHLO client.test\r\nAUTH LOGIN\r\n${b64("alice")}\r\n${b64(PASSWORD)}\r\nQUIT\r\n`);
  await login.untilClosed();
  return plain.text + login.text;
}

const sessionIds = (frames: readonly InspectorFrame[]): string[] =>
  frames.flatMap((f) => (f.kind === "actor" && f.machine === "smtp-session" ? [f.id] : []));

function secretsIn(bytes: readonly Buffer[]): string[] {
  const all = Buffer.concat(bytes).toString("latin1");
  return [PASSWORD, b64(PASSWORD), b64(`\0alice\0${PASSWORD}`)].filter((secret) => all.includes(secret));
}

describe("the inspector server", () => {
  it("serves the page, msgpackr and charts to loopback only, and streams a session", async () => {
    const mail = await inspected({ port: 0 });
    const url = mail.runtime.inspectorUrl()!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("tsqmail inspector");
    expect((await fetch(new URL("msgpackr.js", url))).status).toBe(200);
    // The page folds snapshots' context changes with the compiled context-fold.ts.
    const fold = await fetch(new URL("context-fold.js", url));
    expect(fold.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await fold.text()).toContain("export function foldContext");
    const chart = await fetch(new URL("chart/smtp-session.svg", url));
    expect(chart.headers.get("content-type")).toBe("image/svg+xml");
    expect(await chart.text()).toContain("<title>commands.reading</title>");
    expect((await fetch(new URL("chart/no-such-machine.svg", url))).status).toBe(404);
    // A DNS name rebound to 127.0.0.1 arrives with its own Host: refused.
    const rebound = new StreamClient(`${url.replace("http", "ws")}stream`, { host: "evil.example" });
    await expect(rebound.opened).rejects.toThrow(/403/);

    const stream = new StreamClient(`${url.replace("http", "ws")}stream`);
    await stream.opened;
    await waitFor(() => stream.frames.some((f) => f.kind === "layout"), 5000, "the layout");
    expect(stream.frames.find((f) => f.kind === "supervisor" && f.event === "status" && f.service === "smtpd")).toBeDefined();

    const replies = await authSession(await mail.smtpPort());
    expect(replies.match(/^235 /gm)).toHaveLength(2);
    await waitFor(() => stream.frames.some((f) => f.kind === "actor-end" && sessionIds(stream.frames).includes(f.id)), 10_000, "the session's end");
    const id = sessionIds(stream.frames)[0]!;
    expect(id).toMatch(/^smtpd.*\/conn\/\d+$/);
    const states = stream.frames.flatMap((f) => (f.kind === "snapshot" && f.id === id ? [JSON.stringify(f.value)] : []));
    expect(states).toContain(JSON.stringify({ commands: "reading" }));
    expect(stream.frames.some((f) => f.kind === "event" && f.id === id)).toBe(true);
    // Context keys that name secrets are redacted on their way out of the worker.
    // (authStep holds the decoded user and password while the password is checked.)
    expect(JSON.stringify(stream.frames)).toContain('"authStep":"[redacted]"');

    // A page connecting later gets the finished session from the journal.
    const late = new StreamClient(`${url.replace("http", "ws")}stream`);
    await late.opened;
    await waitFor(() => sessionIds(late.frames).includes(id), 5000, "the journalled session");
    late.close();
    stream.close();
  });

  // The AUTH lines' credentials travel under `response` keys (machines/smtp-syntax.ts
  // splitCommandLine), which supervisors/redact.ts hides: none of them may reach the stream.
  it("AUTH credentials reach no byte of the stream", async () => {
    const mail = await inspected({ port: 0 });
    const stream = new StreamClient(`${mail.runtime.inspectorUrl()!.replace("http", "ws")}stream`);
    await stream.opened;
    await authSession(await mail.smtpPort());
    const ended = (): number => stream.frames.filter((f) => f.kind === "actor-end" && sessionIds(stream.frames).includes(f.id)).length;
    await waitFor(() => ended() === 2, 10_000, "both sessions' ends");
    stream.close();
    expect(secretsIn(stream.raw)).toEqual([]);
  });

  it("a session whose worker is killed ends with it, in the stream and in a later page's journal", async () => {
    const mail = await inspected({ port: 0 });
    const url = mail.runtime.inspectorUrl()!.replace("http", "ws");
    const stream = new StreamClient(`${url}stream`);
    await stream.opened;
    const client = new RawClient(await mail.smtpPort());
    await client.replies(1);
    await waitFor(() => sessionIds(stream.frames).length === 1, 10_000, "the session");
    const [id] = sessionIds(stream.frames);

    mail.runtime.svc("k", ["smtpd"]);
    await client.untilClosed();
    const endOf = (frames: readonly InspectorFrame[]) => frames.find((f) => f.kind === "actor-end" && f.id === id);
    await waitFor(() => endOf(stream.frames) !== undefined, 10_000, "the killed session's end");
    expect(endOf(stream.frames)).toMatchObject({ service: "smtpd", status: "stopped", error: "worker exited" });

    const late = new StreamClient(`${url}stream`);
    await late.opened;
    await waitFor(() => endOf(late.frames) !== undefined, 5000, "the journalled end");
    late.close();
    stream.close();
  });

  it("off loopback, every request needs the token", async () => {
    const server = await startInspectServer(new JournalFeed(), { port: 0, host: "0.0.0.0" });
    cleanups.push(() => server.close());
    const token = new URL(server.url).searchParams.get("token");
    expect(token).toMatch(/^[\w-]{20,}$/);
    const base = `http://127.0.0.1:${server.port}/`;
    expect((await fetch(base)).status).toBe(403);
    expect((await fetch(`${base}?token=wrong`)).status).toBe(403);
    const page = await fetch(`${base}?token=${token}`);
    expect(page.status).toBe(200);
    // The page's own scripts and style sheet are asked for with the token too, and served.
    const assets = [...(await page.text()).matchAll(/\b(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets.map((asset) => asset.replace(/\?.*/, "")).sort()).toEqual(["inspector.css", "inspector.js", "msgpackr.js"]);
    for (const asset of assets) {
      expect(asset).toBe(`${asset.replace(/\?.*/, "")}?token=${token}`);
      expect((await fetch(`${base}${asset}`)).status).toBe(200);
      expect((await fetch(`${base}${asset.replace(/\?.*/, "")}`)).status).toBe(403);
    }
    await expect(new StreamClient(`ws://127.0.0.1:${server.port}/stream`).opened).rejects.toThrow(/403/);
    const allowed = new StreamClient(`ws://127.0.0.1:${server.port}/stream?token=${token}`);
    await allowed.opened;
    allowed.close();
  });
});

describe("recording, replay and follow", () => {
  it("--record writes the stream; a replay serves it; `tsqmail inspect --follow` prints a live one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsqmail-record-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "stream.msgpack");
    const mail = await inspected({ port: 0, record: file });
    const port = new URL(mail.runtime.inspectorUrl()!).port;

    const follower = spawn(process.execPath, [CLI, "inspect", "--follow", "/conn/", `--inspect=${port}`], { stdio: ["ignore", "pipe", "pipe"] });
    cleanups.push(() => void follower.kill());
    let followed = "";
    follower.stdout.on("data", (chunk: Buffer) => (followed += chunk.toString()));
    // The follower is connected once the journal's frames have been filtered and it waits.
    await new Promise((resolve) => setTimeout(resolve, 1500));

    await authSession(await mail.smtpPort());
    await waitFor(() => / end smtpd\S*\/conn\/\d+ done/.test(followed), 15_000, `the follower's lines, got ${followed}`);
    expect(followed).toMatch(/ actor smtpd\S*\/conn\/\d+ smtp-session/);
    expect(followed.split("\n").filter(Boolean).every((line) => line.includes("/conn/"))).toBe(true);
    await mail.close();

    const frames = unpackRecording(readFileSync(file));
    expect(frames[0]?.kind).toBe("layout");
    // authSession opened two sessions.
    expect(sessionIds(frames)).toHaveLength(2);

    const { server, frames: count } = await serveRecording(file, { port: 0 });
    cleanups.push(() => server.close());
    expect(count).toBe(frames.length);
    const replay = new StreamClient(`${server.url.replace("http", "ws")}stream`);
    await replay.opened;
    await waitFor(() => replay.frames.length === frames.length, 5000, "the whole recording");
    expect(replay.frames).toEqual(frames);
    replay.close();
  });
});

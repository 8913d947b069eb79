// The inspector page in a real browser: headless Debian chromium driven by playwright-core opens
// the page of a real runtime, sees an SMTP session appear when a client connects, selects it and
// sees its active state move (reading → auth.… → reading) in the chart and the state line, and
// travels back to its first snapshot; then smtpd's worker is killed and the supervision tree shows
// its restart. Screenshots of both are kept in test/inspect/artifacts/. Snapshots carry mostly the
// context keys that changed: at every step of time travel the page must show the context that
// context-fold.ts makes of the same stream (test/supervisors/context-delta.test.ts checks that
// fold against whole contexts), and, fed a journal that lost an actor's whole context, say its
// context is partial until a whole one comes.
// The DOM's types are for the functions handed to page.evaluate, which run in the page.
/// <reference lib="dom" />

import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { foldContext, type FoldedContext } from "../../src/inspect/context-fold.js";
import { startInspectServer } from "../../src/inspect/inspect-server.js";
import { packFrame, type InspectorFrame } from "../../src/inspect/inspector-frame.js";
import { RawClient } from "../smtpd/smtpd-harness.js";
import { waitFor } from "../runtime/test-root.js";
import { b64, PASSWORD, startInspected, StreamClient, type InspectedMail } from "./inspect-root.js";

const ARTIFACTS = fileURLToPath(new URL("./artifacts/", import.meta.url));
let browser: Browser;
let mail: InspectedMail;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  mail = await startInspected({ port: 0 });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await mail?.close();
});

/** Moves the time-travel slider to `index` and reads the context view once the page has drawn it. */
async function contextAt(page: Page, index: number): Promise<{ text: string; partial: string | null; note: string }> {
  await page.locator("#travel").fill(String(index));
  await page.waitForFunction((n) => new RegExp(`^snapshot ${n} of \\d+$`).test(document.getElementById("travel-position")?.textContent ?? ""), index + 1, { timeout: 10_000 });
  return {
    text: (await page.locator("#context").textContent()) ?? "",
    partial: await page.locator("#context").getAttribute("data-partial"),
    note: (await page.locator("#context-note").textContent()) ?? "",
  };
}

describe("the inspector page", () => {
  it("shows the supervision tree, a new SMTP session, its state as it moves, and a restart", async () => {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(mail.runtime.inspectorUrl()!);
    await page.locator('[data-service="smtpd"][data-state="up"]').waitFor({ timeout: 15_000 });
    await expect(page.locator("#connection").textContent()).resolves.toBe("live");
    const stream = new StreamClient(`${mail.runtime.inspectorUrl()!.replace("http", "ws")}stream`);
    await stream.opened;

    const client = new RawClient(await mail.smtpPort());
    await client.replies(1);
    client.send("EHLO client.test\r\n");
    await client.replies(2);
    const row = page.locator("#actors tbody tr.live", { hasText: "/conn/" }).first();
    await row.waitFor({ timeout: 15_000 });
    await row.click();
    // The page draws the selection on its next frame: wait for it rather than read at once.
    await page.locator("#detail-title", { hasText: "smtp-session" }).waitFor({ timeout: 10_000 });
    await page.locator("#chart svg").waitFor({ timeout: 15_000 });
    await page.waitForFunction(() => document.getElementById("active-state")?.textContent === "commands.reading", undefined, { timeout: 10_000 });
    await expect(page.locator("#chart g.node.active", { hasText: "reading" }).count()).resolves.toBe(1);

    // AUTH LOGIN waits for the user name in the auth state: the page must follow it there.
    client.send("AUTH LOGIN\r\n");
    await page.waitForFunction(() => document.getElementById("active-state")?.textContent?.startsWith("auth") === true, undefined, { timeout: 10_000 });
    await expect(page.locator("#chart g.cluster.active", { hasText: "auth" }).count()).resolves.toBeGreaterThan(0);
    client.send(`${b64("alice")}\r\n${b64(PASSWORD)}\r\n`);
    await page.waitForFunction(() => document.getElementById("active-state")?.textContent === "commands.reading", undefined, { timeout: 10_000 });

    // Time travel: the first snapshot is the session's start, before EHLO.
    await page.locator("#travel").fill("0");
    await expect(page.locator("#follow").isChecked()).resolves.toBe(false);
    // The page redraws on its next animation frame: wait for it rather than read at once.
    await page.waitForFunction(() => /^snapshot 1 of \d+$/.test(document.getElementById("travel-position")?.textContent ?? ""), undefined, { timeout: 10_000 });
    await page.locator("#follow").check();

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}inspector.png`, fullPage: true });
    client.send("QUIT\r\n");
    await client.untilClosed();
    await page.locator("#actors tbody tr.finished", { hasText: "/conn/" }).first().waitFor({ timeout: 10_000 });

    // Every snapshot of the session, as the page shows it and as the fold makes it of the stream.
    const id = (await page.locator("#detail-title").textContent())!.split(" ")[0]!;
    await waitFor(() => stream.frames.some((f) => f.kind === "actor-end" && f.id === id), 10_000, "the session's end on the stream");
    stream.close();
    const records = stream.frames.flatMap((f) => (f.kind === "snapshot" && f.id === id ? [f] : []));
    // Only the first carries the whole context (a session this short has far fewer than 64
    // snapshots): the page has the others' to fold.
    expect(records.map((record) => "context" in record)).toEqual(records.map((_, index) => index === 0));
    const folded: FoldedContext[] = [];
    for (const record of records) folded.push(foldContext(folded.at(-1), record));
    for (const [index, expected] of folded.entries()) {
      await expect(contextAt(page, index)).resolves.toEqual({ text: JSON.stringify(expected.context, null, 2), partial: "false", note: "" });
    }
    const last = await contextAt(page, folded.length - 1);
    expect(JSON.parse(last.text)).toMatchObject({ helo: "client.test", authUser: "[redacted]", settings: expect.any(Object) });
    await page.locator("#follow").check();

    // Kill smtpd's worker, as `svc -k` does: its supervisor starts a new thread at once (the last
    // start is long enough ago), so the down moment may never reach a frame; the restart count,
    // the thread and the exit in the supervisor events show the restart.
    const smtpd = page.locator('[data-service="smtpd"]');
    await expect(smtpd.getAttribute("data-restarts")).resolves.toBe("0");
    const thread = await smtpd.getAttribute("data-thread");
    mail.runtime.svc("k", ["smtpd"]);
    await page.locator('[data-service="smtpd"][data-state="up"][data-restarts="1"]').waitFor({ timeout: 15_000 });
    await expect(smtpd.getAttribute("data-thread")).resolves.not.toBe(thread);
    await expect(smtpd.textContent()).resolves.toContain("restarts 1");
    await page.locator("#supervisor-events li", { hasText: `smtpd exit childId=${thread}` }).waitFor({ timeout: 5_000 });
    await page.screenshot({ path: `${ARTIFACTS}inspector-restart.png`, fullPage: true });
  });

  it("says an actor's context is partial until a whole one arrives, when the journal lost it", async () => {
    const base = { service: "smtpd", id: "smtpd:25/conn/9" };
    const snapshot = (at: number, fields: object): InspectorFrame => ({ kind: "snapshot", at, ...base, value: { commands: "reading" }, status: "active", ...fields });
    // The actor's first record, then (its older snapshots dropped) a change, a whole context and a change.
    const frames: InspectorFrame[] = [
      { kind: "actor", at: 1000, ...base, machine: "smtp-session" },
      snapshot(2000, { changes: { helo: "late.test" } }),
      snapshot(3000, { context: { helo: "late.test", queued: 1, rcptCount: 0 } }),
      snapshot(4000, { changes: { queued: 2 }, removed: ["rcptCount"] }),
    ];
    const packed = frames.map((frame) => packFrame(frame));
    const server = await startInspectServer({ frames: () => packed, subscribe: () => () => {} }, { port: 0 });
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      const row = page.locator("#actors tbody tr", { hasText: "/conn/9" });
      await row.waitFor({ timeout: 15_000 });
      await row.click();
      await page.locator("#detail-title", { hasText: "smtp-session" }).waitFor({ timeout: 10_000 });
      const partial = await contextAt(page, 0);
      expect(partial).toMatchObject({ partial: "true", note: expect.stringMatching(/^partial/) });
      expect(JSON.parse(partial.text)).toEqual({ helo: "late.test" });
      await expect(contextAt(page, 1)).resolves.toEqual({ text: JSON.stringify({ helo: "late.test", queued: 1, rcptCount: 0 }, null, 2), partial: "false", note: "" });
      await expect(contextAt(page, 2)).resolves.toEqual({ text: JSON.stringify({ helo: "late.test", queued: 2 }, null, 2), partial: "false", note: "" });
    } finally {
      await server.close();
    }
  });
});

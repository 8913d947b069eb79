// The inspector page in a real browser: headless Debian chromium driven by playwright-core opens
// the page of a real runtime, sees an SMTP session appear when a client connects, selects it and
// sees its active state move (reading → auth.… → reading) in the chart and the state line, and
// travels back to its first snapshot; then smtpd's worker is killed and the supervision tree shows
// its restart. Screenshots of both are kept in test/inspect/artifacts/.

import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient } from "../smtpd/smtpd-harness.js";
import { b64, PASSWORD, startInspected, type InspectedMail } from "./inspect-root.js";

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

describe("the inspector page", () => {
  it("shows the supervision tree, a new SMTP session, its state as it moves, and a restart", async () => {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(mail.runtime.inspectorUrl()!);
    await page.locator('[data-service="smtpd"][data-state="up"]').waitFor({ timeout: 15_000 });
    await expect(page.locator("#connection").textContent()).resolves.toBe("live");

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
});

// Forward clock jumps re-arm timers already set: clock.at fires at once when a jump passes its
// moment (and not before), send's channel scheduler gives a job its turn at once, and on real
// workers a deferred remote retry, 400 s away on send's schedule, happens at once when the
// runtime's clock jumps 10 minutes (runtime.faults' clock-jump action).

import { statSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { clock } from "../../supervisors/clock.js";
import { ChannelScheduler } from "../../src/services/send/channel-scheduler.js";
import { logText, sleep, waitFor } from "../runtime/test-root.js";
import { channelFile, inject, sendTestBed } from "../send/send-root.js";

afterEach(() => clock.reset());

const MINUTE = 60_000;

describe("clock timers and jumps", () => {
  it("clock.at waits for its moment, fires at once when a jump passes it, and can be cancelled", async () => {
    const fired: string[] = [];
    clock.at(clock.now() + 10 * MINUTE, () => fired.push("later"));
    clock.at(clock.now() + 60 * MINUTE, () => fired.push("much later"));
    const cancelled = clock.at(clock.now() + 5 * MINUTE, () => fired.push("cancelled"));
    cancelled();
    await sleep(50);
    expect(fired).toEqual([]);
    clock.jump(11 * MINUTE);
    await waitFor(() => fired.length > 0, 2000, "the passed timer");
    await sleep(50);
    expect(fired).toEqual(["later"]);
    clock.jump(50 * MINUTE);
    await waitFor(() => fired.length > 1, 2000, "the second timer");
    expect(fired).toEqual(["later", "much later"]);
  });

  it("a backward jump puts a timer off again", async () => {
    const fired: string[] = [];
    clock.jump(10 * MINUTE);
    clock.at(clock.now() + 100, () => fired.push("fired"));
    clock.reset();
    await sleep(300);
    expect(fired).toEqual([]);
    clock.jump(10 * MINUTE);
    await waitFor(() => fired.length > 0, 2000, "the timer");
  });

  it("send's channel scheduler gives a job waiting for a later try its turn when the clock jumps past it", async () => {
    const scheduler = new ChannelScheduler(1);
    let turned = false;
    scheduler.awaitTurn("retry", clock.now() + 6 * MINUTE, () => (turned = true));
    await sleep(50);
    expect(turned).toBe(false);
    clock.jump(7 * MINUTE);
    await waitFor(() => turned, 2000, "the turn");
    await scheduler.stop();
  });
});

describe("a deferred retry on real workers", () => {
  const bed = sendTestBed();
  const attempts = (): number => (logText(bed.made.root, "rspawn").match(/deliver \d+ soft-r@far\.test/g) ?? []).length;

  it("happens at once when the runtime's clock jumps past its next-try time", async () => {
    const made = await bed.makeRoot();
    const runtime = await bed.start();
    const id = await inject(made.queueDir, "a@example.test", ["soft-r@far.test"]);
    await waitFor(() => attempts() === 1, 20_000, "the first attempt");
    // The next try is persisted as the channel file's mtime: birth + (isqrt(age) + 20)² s, qmail's
    // remote schedule — 400 s when the pass ended within a second of birth, a little more on a
    // loaded machine.
    const birth = Math.floor(statSync(channelFile(made.queueDir, "info", id)).mtimeMs / 1000);
    const nextTry = (): number => statSync(channelFile(made.queueDir, "remote", id)).mtimeMs / 1000 - birth;
    await waitFor(() => nextTry() >= 400, 10_000, "the next try's time");
    const skip = Math.sqrt(nextTry()) - 20;
    expect(Number.isInteger(skip) && skip >= 0 && skip ** 2 <= Date.now() / 1000 - birth).toBe(true);
    await sleep(1000);
    expect(attempts()).toBe(1);

    runtime.faults.install({ seed: 1, rules: [], actions: [{ atMs: 0, kind: "clock-jump", byMs: (nextTry() + 60) * 1000 }] });
    // Well inside the 400 s the retry would otherwise wait.
    await waitFor(() => attempts() === 2, 30_000, "the retry after the jump");
    expect(runtime.faults.counts()).toEqual({ "clock-jump": 1 });
  }, 90_000);
});

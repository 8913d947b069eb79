// qmail-send's retry formula and queue lifetime.

import { describe, expect, it } from "vitest";
import { isDying, nextTryAt } from "../../src/services/send/retry-schedule.js";

const birth = 1_700_000_000_000;
const after = (seconds: number): number => birth + seconds * 1000;

describe("retry schedule", () => {
  it("local retries come 100, 400, 900 s after birth; remote 400, 1600, 3600 s", () => {
    expect(nextTryAt("local", birth, birth)).toBe(after(100));
    expect(nextTryAt("local", birth, after(100))).toBe(after(400));
    expect(nextTryAt("local", birth, after(400))).toBe(after(900));
    expect(nextTryAt("remote", birth, birth)).toBe(after(400));
    expect(nextTryAt("remote", birth, after(400))).toBe(after(1600));
    expect(nextTryAt("remote", birth, after(1600))).toBe(after(3600));
  });

  it("uses the integer square root of the age, and 0 for a birth in the future", () => {
    expect(nextTryAt("local", birth, after(399))).toBe(after((19 + 10) ** 2));
    expect(nextTryAt("remote", birth, birth - 5000)).toBe(after(400));
  });

  it("a message is dying once it is older than queuelifetime", () => {
    expect(isDying(birth, after(604800), 604800)).toBe(false);
    expect(isDying(birth, after(604801), 604800)).toBe(true);
  });
});

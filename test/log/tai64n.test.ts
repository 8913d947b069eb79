import { describe, expect, it } from "vitest";
import { unixMsFromTai64n } from "../../supervisors/daemontools/tai64.js";
import { parseTai64nLabel, tai64nLabel } from "../../src/log/tai64n.js";
import { runTool } from "../daemontools/debian-tools.js";

/** tai64nlocal's rendering of a time: local date and time with nine decimals. */
function localTime(unixMs: number, nano: number): string {
  const d = new Date(unixMs);
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(nano).padStart(9, "0")}`
  );
}

describe("tai64n labels", () => {
  it("formats as multilog: @, TAI64 seconds and nanoseconds (µs × 1000 + 500) in hex", () => {
    // 1700000000 + 10 = 0x6553f10a; 250 ms → 250000500 ns = 0x0ee6b474.
    expect(tai64nLabel(1_700_000_000_250)).toBe("@400000006553f10a0ee6b474");
  });

  it("parses back to the same millisecond and rejects what is not a label", () => {
    const label = parseTai64nLabel(`${tai64nLabel(1_763_765_432_987)} rest of line`);
    expect(label && unixMsFromTai64n(label)).toBe(1_763_765_432_987);
    expect(parseTai64nLabel("@400000006553f10a0ee6b6f")).toBeUndefined();
    expect(parseTai64nLabel("@400000006553F10A0EE6B6F4")).toBeUndefined();
    expect(parseTai64nLabel("@400000006553f10aff000000")).toBeUndefined();
  });

  it("reads Debian tai64n's labels as the time they were made", async () => {
    const before = Date.now();
    const { stdout } = await runTool("tai64n", [], "line\n");
    const after = Date.now();
    const label = parseTai64nLabel(stdout);
    expect(label).toBeDefined();
    const ms = unixMsFromTai64n(label!);
    expect(ms).toBeGreaterThanOrEqual(before - 1);
    expect(ms).toBeLessThanOrEqual(after + 1);
  });

  it("is read by Debian's tai64nlocal as the local time it stands for", async () => {
    const times = [0, 1_700_000_000_250, Date.now()];
    const input = times.map((ms, i) => `${tai64nLabel(ms)} line ${i}\n`).join("");
    const { code, stdout } = await runTool("tai64nlocal", [], input);
    expect(code).toBe(0);
    const expected = times.map((ms, i) => `${localTime(ms, (ms % 1000) * 1_000_000 + 500)} line ${i}\n`).join("");
    expect(stdout).toBe(expected);
  });
});

// Fault plans are reproducible: the same seed gives the same plan and the same decision at every
// fault point, a different seed different decisions, and a plan survives structured cloning and
// msgpack unchanged, as it must to reach the workers and a recording.

import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { buildPlan, FAULT_KINDS, FaultDecider, parseFaultKinds, type FaultPlan } from "../../src/chaos/fault-plan.js";
import { planHook } from "../../src/chaos/plan-hook.js";
import type { FaultPoint } from "../../src/io/faults.js";

const request = (seed: number) => ({ seed, durationMs: 60_000, kinds: [...FAULT_KINDS], services: ["smtpd", "send"], netSites: ["smtpd"] });

const points: FaultPoint[] = Array.from({ length: 3000 }, (_, i) => ({
  seam: (["fs", "net", "dns"] as const)[i % 3]!,
  site: ["enqueue", "maildir", "smtpd", "rspawn"][i % 4]!,
  op: ["open", "write", "read", "resolveMx"][i % 4]!,
}));

const decisions = (plan: FaultPlan): (string | undefined)[] => {
  const decider = new FaultDecider(plan);
  return points.map((point) => decider.decide(point)?.kind);
};

describe("fault plans", () => {
  it("the same seed gives the same plan and the same decisions", () => {
    expect(buildPlan(request(42))).toEqual(buildPlan(request(42)));
    const first = decisions(buildPlan(request(42)));
    expect(decisions(buildPlan(request(42)))).toEqual(first);
    expect(first.filter((kind) => kind !== undefined).length).toBeGreaterThan(0);
  });

  it("a different seed decides differently", () => {
    expect(decisions(buildPlan(request(43)))).not.toEqual(decisions(buildPlan(request(42))));
  });

  it("decisions at one point do not depend on how other points interleave", () => {
    const plan = buildPlan(request(5));
    const maildirOnly = (list: FaultPoint[]): (string | undefined)[] => {
      const decider = new FaultDecider(plan);
      return list.map((point) => ({ point, kind: decider.decide(point)?.kind })).filter(({ point }) => point.site === "maildir").map(({ kind }) => kind);
    };
    const reversedOthers = [...points.filter((p) => p.site !== "maildir").reverse(), ...points.filter((p) => p.site === "maildir")];
    expect(maildirOnly(reversedOthers)).toEqual(maildirOnly(points));
  });

  it("survives structured cloning and msgpack", () => {
    const plan = buildPlan(request(9));
    expect(structuredClone(plan)).toEqual(plan);
    expect(unpack(pack(plan))).toEqual(plan);
  });

  it("bends calls instead of failing them for delay, truncate and slow-DNS rules, and jumps the clock forward", () => {
    const plan = buildPlan({ ...request(3), kinds: ["net-delay", "net-truncate", "dns-slow", "clock-jump"] });
    const hook = planHook({ ...plan, rules: plan.rules.map((rule) => ({ ...rule, probability: 1 })) }, () => {});
    expect(hook({ seam: "net", site: "smtpd", op: "read" })).toEqual({ delayMs: expect.any(Number) });
    expect(hook({ seam: "dns", site: "rspawn", op: "mx" })).toEqual({ delayMs: expect.any(Number) });
    const truncating = planHook({ ...plan, rules: plan.rules.filter((rule) => rule.kind === "net-truncate").map((rule) => ({ ...rule, probability: 1 })) }, () => {});
    expect(truncating({ seam: "net", site: "smtpd", op: "write" })).toEqual({ truncateAfter: expect.any(Number) });
    expect(truncating({ seam: "net", site: "smtpd", op: "read" })).toBeUndefined();
    const jumps = plan.actions.filter((action) => action.kind === "clock-jump");
    expect(jumps.length).toBeGreaterThan(0);
    for (const jump of jumps) expect(jump.byMs).toBeGreaterThan(0);
  });

  it("parses --faults lists and refuses unknown kinds", () => {
    expect(parseFaultKinds(undefined)).toEqual([...FAULT_KINDS]);
    expect(parseFaultKinds("fs-eio,sigkill")).toEqual(["fs-eio", "sigkill"]);
    expect(() => parseFaultKinds("fs-eio,meteor")).toThrow(/unknown fault kind "meteor"/);
  });
});

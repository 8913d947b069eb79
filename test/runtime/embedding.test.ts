// tsqmail inside a host program: createRuntime directly, and the Effect Layer whose scope
// starts and stops the runtime.

import { describe, expect, it } from "vitest";
import { Effect } from "../../supervisors/fx.js";
import { TsqmailRuntime, tsqmailLayer, createRuntime } from "../../src/index.js";
import type { InspectionRecord } from "../../src/index.js";
import { logText, makeRoot } from "./test-root.js";

describe("embedding", () => {
  it("the Effect layer starts the runtime for its scope and stops it after", async () => {
    const made = makeRoot([{ name: "inner" }]);
    try {
      const seen = await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const runtime = yield* TsqmailRuntime;
            return runtime.status().map((s) => ({ name: s.name, ready: s.ready }));
          }).pipe(Effect.provide(tsqmailLayer({ root: made.root }))),
        ),
      );
      expect(seen).toEqual([{ name: "inner", ready: true }]);
      expect(logText(made.root, "inner")).toContain("stopping");
      expect(logText(made.root, "inner")).toMatch(/inner exited with code 0\n$/);
    } finally {
      made.cleanup();
    }
  });

  it("a layer whose services cannot start fails with the reason and leaves nothing running", async () => {
    const made = makeRoot([{ name: "broken", env: { MODE: "throw-at-start" } }]);
    try {
      const result = await Effect.runPromise(
        Effect.scoped(Effect.provide(TsqmailRuntime, tsqmailLayer({ root: made.root, readyTimeoutMs: 8000 }))).pipe(Effect.either),
      );
      expect(result._tag).toBe("Left");
      expect(String(result._tag === "Left" ? result.left : "")).toContain("refusing to start (test)");
      const again = createRuntime({ root: made.root });
      await expect(again.start({ readyTimeoutMs: 500 })).rejects.toThrow(/not ready/);
      await again.stop();
    } finally {
      made.cleanup();
    }
  });

  it("subscribers see supervisor events and actor records; svc reaches the service", async () => {
    const made = makeRoot([{ name: "watched" }]);
    const runtime = createRuntime({ root: made.root });
    try {
      const records: InspectionRecord[] = [];
      const unsubscribe = runtime.subscribe((r) => records.push(r));
      await runtime.start();
      expect(records.filter((r) => r.kind === "supervisor").map((r) => (r.kind === "supervisor" ? r.event : ""))).toEqual(
        expect.arrayContaining(["status", "start", "ready"]),
      );
      unsubscribe();
      const count = records.length;
      runtime.svc("h", ["watched"]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(records.length).toBe(count);
      expect(logText(made.root, "watched")).toContain("signal hup");
    } finally {
      await runtime.stop();
      made.cleanup();
    }
  });
});

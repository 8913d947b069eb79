// The launcher's pool size (src/runtime/thread-pool.cts): set for a runtime unless the user chose
// one. That `npm start` runs with that many pool threads is shown by test/cli/start.test.ts.

import { describe, expect, it } from "vitest";
import { RUNTIME_THREAD_POOL_SIZE, sizeThreadPool } from "../../dist/src/runtime/thread-pool.cjs";

describe("sizeThreadPool", () => {
  it("sets UV_THREADPOOL_SIZE when it is unset or empty, and keeps a value the user gave", () => {
    const unset: NodeJS.ProcessEnv = {};
    expect(sizeThreadPool(unset)).toBe(true);
    expect(unset.UV_THREADPOOL_SIZE).toBe(String(RUNTIME_THREAD_POOL_SIZE));
    const empty: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: "" };
    expect(sizeThreadPool(empty)).toBe(true);
    expect(empty.UV_THREADPOOL_SIZE).toBe(String(RUNTIME_THREAD_POOL_SIZE));
    const chosen: NodeJS.ProcessEnv = { UV_THREADPOOL_SIZE: "6" };
    expect(sizeThreadPool(chosen)).toBe(false);
    expect(chosen.UV_THREADPOOL_SIZE).toBe("6");
  });
});

// The tests themselves type-check: vitest strips types without checking them, and the build
// (tsconfig.json) compiles only what ships, so a test could otherwise call a helper with the
// wrong arguments, or read a field that no longer exists, and still run. tsconfig.test.json
// checks the shipped code and every test together, as one program.

import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("..", import.meta.url));
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

describe("types", () => {
  it("the tests and the code they test type-check together (tsconfig.test.json)", async () => {
    const result = await promisify(execFile)(process.execPath, [tsc, "-p", "tsconfig.test.json"], { cwd: repo }).then(
      () => "",
      (error: { stdout?: string; message: string }) => error.stdout || error.message,
    );
    expect(result).toBe("");
  }, 120_000);
});

import { defineConfig } from "vitest/config";

// Tests run real worker threads, sockets and child processes: give them room, and keep
// the two cores from being oversubscribed by too many test files at once.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    maxWorkers: 2,
  },
});

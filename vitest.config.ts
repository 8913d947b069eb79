import { defineConfig } from "vitest/config";

// The test processes host the runtime as the `tsqmail` command runs it, with four malloc arenas
// (src/cli/tsqmail says why): the POP3 memory test grew 6–7 MB more without, when other test
// files ran beside it. glibc reads the variable when a process starts, so it is set here, before
// vitest forks its test processes; a value already set is kept.
process.env.MALLOC_ARENA_MAX ??= "4";

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

import { configDefaults, defineConfig } from "vitest/config";

// The test processes host the runtime as the `tsqmail` command runs it, with four malloc arenas
// (src/cli/tsqmail says why): the POP3 memory test grew 6–7 MB more without, when other test
// files ran beside it. glibc reads the variable when a process starts, so it is set here, before
// vitest forks its test processes; a value already set is kept.
process.env.MALLOC_ARENA_MAX ??= "4";

/**
 * Files that assert how much memory the runtime takes. They run after the rest, one at a time:
 * beside another file, the collector of a worker they measure falls behind on two busy cores and
 * the figure measures the machine's contention, not the runtime (the 1 000-session POP3 test grew
 * 38–47 MB alone or beside light files, and 66–73 MB beside the chaos test).
 */
const MEASURING_MEMORY = [
  "test/pop3/thousand-sessions.test.ts",
  "test/smtpd/smtpd-memory.test.ts",
  "test/send/ten-thousand.test.ts",
  "test/qmtp/qmqpd.test.ts",
];

// Tests run real worker threads, sockets and child processes: give them room. The suite runs two
// files at a time, so the two cores are not oversubscribed.
const common = { testTimeout: 30_000, hookTimeout: 30_000, pool: "forks" } as const;

export default defineConfig({
  test: {
    globalSetup: ["test/global-setup.ts"],
    projects: [
      {
        test: {
          ...common,
          name: "suite",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...MEASURING_MEMORY],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: { ...common, name: "memory, alone", include: MEASURING_MEMORY, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});

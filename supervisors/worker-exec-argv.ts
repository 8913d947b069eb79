// The Node options a service worker starts with. A worker inherits its process's options unless
// given a list, and with them the host's module hooks: `node --import tsx host.ts`, an APM agent's
// `--require`. Those are for the host's own code. In a worker they load again, once per service,
// and change how it runs: tsx turns on source-mapped stack traces, so every socket reset in smtpd
// cost a source-map lookup. Workers run only tsqmail's compiled code (worker-child.ts boots it
// through tsx itself when running from sources), so a host with hooks gets workers with no options
// at all. The list cannot be the host's minus the hooks, because Node refuses per-process options
// (--max-old-space-size, --title, V8 flags) in an explicit list. They apply process-wide anyway.
// A host without hooks keeps Node's inheritance.

/** Options that name a module to load before the entry, as `--opt x` or `--opt=x`. */
const MODULE_HOOKS = new Set(["--import", "--require", "-r", "--loader", "--experimental-loader"]);

/** The worker's execArgv: undefined to inherit the host's, or an empty list when they load hooks. */
export function workerExecArgv(execArgv: readonly string[]): string[] | undefined {
  const hooked = execArgv.some((option) => MODULE_HOOKS.has(option.split("=", 1)[0]!));
  return hooked ? [] : undefined;
}

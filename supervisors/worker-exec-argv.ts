// The Node options a service worker starts with. A worker inherits its process's options unless
// given a list, and with them the host's module hooks: `node --import tsx host.ts`, an APM agent's
// `--require`. Those are for the host's own code. In a worker they load again, once per service,
// and change how it runs: tsx turns on source-mapped stack traces, so every socket reset in smtpd
// cost a source-map lookup. Workers run only tsqmail's compiled code (worker-child.ts boots it
// through tsx itself when running from sources), so a host with hooks gives its workers its other
// options (`--cpu-prof`, `--enable-source-maps`, …) without the hooks. Node refuses per-process
// options (`--max-old-space-size`, `--title`, V8 flags) in such a list, and names no way to tell
// them apart beforehand: when it refuses the list, the workers get none (worker-child.ts). Those
// options apply to the whole process anyway. A host without hooks keeps Node's inheritance.

/** Options that name a module to load before the entry, as `--opt x` or `--opt=x`. */
const MODULE_HOOKS = new Set(["--import", "--require", "-r", "--loader", "--experimental-loader"]);

/** The worker's execArgv: undefined to inherit the host's, or the host's without its module hooks. */
export function workerExecArgv(execArgv: readonly string[]): string[] | undefined {
  const kept: string[] = [];
  let hooked = false;
  for (let i = 0; i < execArgv.length; i++) {
    const option = execArgv[i]!;
    const name = option.split("=", 1)[0]!;
    if (!MODULE_HOOKS.has(name)) kept.push(option);
    else {
      hooked = true;
      if (name === option) i++; // the module is the next argument
    }
  }
  return hooked ? kept : undefined;
}

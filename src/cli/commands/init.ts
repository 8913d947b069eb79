// `tsqmail init [ROOT] [--domain D] [--listen IP] [--base-port N]`: makes or completes a root
// (src/root/init.ts). Prints what it created; an existing configuration is left as it is.

import { UsageError, type Command } from "../command.js";
import { parseCommandArgs, stringOption, type ParsedArgs } from "../command-args.js";
import { chooseRoot } from "../../root/paths.js";
import { initRoot, validateInitOptions, type InitOptions } from "../../root/init.js";

export const INIT_DEFAULTS = { domain: "example.test", listen: "127.0.0.1", basePort: 2000 } as const;

/** The init options from parsed `--domain`, `--listen`, `--base-port` values (shared with start --init). */
export function initOptionsFrom(root: string, values: ParsedArgs["values"]): InitOptions {
  const basePort = stringOption(values, "base-port");
  const options: InitOptions = {
    root,
    domain: stringOption(values, "domain") ?? INIT_DEFAULTS.domain,
    listen: stringOption(values, "listen") ?? INIT_DEFAULTS.listen,
    basePort: basePort === undefined ? INIT_DEFAULTS.basePort : Number(basePort),
  };
  const problem = validateInitOptions(options);
  if (problem !== undefined) throw new UsageError(problem);
  return options;
}

export const INIT_OPTIONS = {
  domain: { type: "string" },
  listen: { type: "string" },
  "base-port": { type: "string" },
} as const;

export const init: Command = {
  name: "init",
  summary: "create a root: control files, queue, service directories (never overwrites)",
  usage: "tsqmail init [ROOT] [--domain D] [--listen IP] [--base-port N]",
  async run(args, io) {
    const parsed = parseCommandArgs(args, INIT_OPTIONS, true);
    if (parsed.positionals.length > 1) throw new UsageError("at most one ROOT");
    const root = chooseRoot(parsed.positionals[0] ?? stringOption(parsed.values, "root"), io.env);
    const report = await initRoot(initOptionsFrom(root, parsed.values));
    io.stdout.write(
      report.created.length === 0
        ? `${root}: already complete, nothing changed\n`
        : `${root}: created ${report.created.join(", ")}\n`,
    );
    return 0;
  },
};

// Argument parsing shared by the configuration commands (showctl, newu, newmrh, adduser):
// node:util parseArgs with the common `--root DIR` option, resolved by chooseRoot, and
// parseArgs' own errors turned into UsageError (exit 100).

import { UsageError } from "../command.js";
import { parseCommandArgs, rootOf, type OptionSpec } from "../command-args.js";

export interface ConfigArgs {
  readonly root: string;
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

export function parseConfigArgs(args: string[], env: NodeJS.ProcessEnv, options: OptionSpec, positionals: number): ConfigArgs {
  const parsed = parseCommandArgs(args, options, positionals > 0);
  if (parsed.positionals.length !== positionals) throw new UsageError(`expected ${positionals} argument(s), got ${parsed.positionals.length}`);
  return { root: rootOf(parsed.values, env), values: parsed.values, positionals: parsed.positionals };
}

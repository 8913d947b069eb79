// Argument parsing shared by the configuration commands (showctl, newu, newmrh, adduser):
// node:util parseArgs with the common `--root DIR` option, resolved by chooseRoot, and
// parseArgs' own errors turned into UsageError (exit 100).

import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../command.js";
import { chooseRoot } from "../../root/paths.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

export interface ConfigArgs {
  readonly root: string;
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

export function parseConfigArgs(args: string[], env: NodeJS.ProcessEnv, options: Options, positionals: number): ConfigArgs {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: { ...options, root: { type: "string" } }, allowPositionals: positionals > 0, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.positionals.length !== positionals) throw new UsageError(`expected ${positionals} argument(s), got ${parsed.positionals.length}`);
  const values = parsed.values as ConfigArgs["values"];
  const root = values.root;
  return { root: chooseRoot(typeof root === "string" ? root : undefined, env), values, positionals: parsed.positionals };
}

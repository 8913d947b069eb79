// Argument parsing for every command: node:util parseArgs with its errors turned into UsageError
// (printed with the usage, exit 100), and `--root DIR` (or `--root=DIR`) understood everywhere,
// resolved by chooseRoot (the flag, then $TSQMAIL_ROOT, then the default). Commands built on
// parseArgs get it as an option (rootOf); the others take it out of their arguments (takeRoot):
// svc and svstat anywhere among the service names, the qmail-style tools (inject, sendmail,
// queue, qmqpc) only in front, where it cannot be taken for a getopt flag.

import { parseArgs, type ParseArgsConfig } from "node:util";
import { chooseRoot } from "../root/paths.js";
import { UsageError } from "./command.js";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

export function parseCommandArgs(args: string[], options: OptionSpec, allowPositionals: boolean): ParsedArgs {
  try {
    const parsed = parseArgs({ args, options: { ...options, root: { type: "string" } }, allowPositionals, strict: true });
    return { values: parsed.values as ParsedArgs["values"], positionals: parsed.positionals };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A string option's value; undefined when absent. */
export function stringOption(values: ParsedArgs["values"], name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/** The root named by a parseArgs `--root` option, or the environment's. */
export function rootOf(values: ParsedArgs["values"], env: NodeJS.ProcessEnv): string {
  return chooseRoot(stringOption(values, "root"), env);
}

/** Takes `--root DIR` out of `args` — `anywhere`, or only as the `leading` argument — and resolves the root. */
export function takeRoot(args: readonly string[], env: NodeJS.ProcessEnv, where: "anywhere" | "leading"): { root: string; rest: string[] } {
  const rest: string[] = [];
  let flag: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const mayTake = where === "anywhere" || i === 0;
    if (mayTake && arg === "--root") {
      flag = args[++i];
      if (flag === undefined) throw new UsageError("--root needs a directory");
    } else if (mayTake && arg.startsWith("--root=")) {
      flag = arg.slice("--root=".length);
    } else {
      rest.push(arg);
    }
  }
  return { root: chooseRoot(flag, env), rest };
}

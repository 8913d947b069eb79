// Argument parsing for every command: node:util parseArgs with its errors turned into UsageError
// (printed with the usage, exit 100), and `--root DIR` understood everywhere.

import { parseArgs, type ParseArgsConfig } from "node:util";
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

// POSIX getopt(3) for the qmail tools whose flags follow the old single-letter style rather than
// node:util parseArgs: clustered flags (`-an`), values attached or separate (`-fjoe`, `-f joe`),
// options ending at `--` or at the first argument not starting with `-`. qmail-inject and
// sendmail are called this way by scripts and MUAs, so the form must be exact.

import { UsageError } from "../command.js";

export interface GetoptResult {
  /** The options in the order given, each with its value when the letter takes one. */
  readonly options: readonly { readonly letter: string; readonly value?: string }[];
  readonly operands: readonly string[];
}

/** `spec` lists the letters, a letter followed by `:` taking a value (getopt's optstring). */
export function getopt(args: readonly string[], spec: string): GetoptResult {
  const options: { letter: string; value?: string }[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      i += 1;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    for (let k = 1; k < arg.length; k++) {
      const letter = arg[k]!;
      const at = spec.indexOf(letter);
      if (letter === ":" || at === -1) throw new UsageError(`unknown option -${letter}`);
      if (spec[at + 1] !== ":") {
        options.push({ letter });
        continue;
      }
      const rest = arg.slice(k + 1);
      if (rest !== "") options.push({ letter, value: rest });
      else if (i + 1 < args.length) options.push({ letter, value: args[++i]! });
      else throw new UsageError(`option -${letter} needs a value`);
      break;
    }
  }
  return { options, operands: args.slice(i) };
}

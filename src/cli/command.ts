// The shape of one `tsqmail` subcommand. Each command lives in its own file under
// src/cli/commands/ and is listed in commands/index.ts; main.ts only dispatches.

import type { Readable, Writable } from "node:stream";

export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
}

export interface Command {
  readonly name: string;
  /** One line for `tsqmail help`. */
  readonly summary: string;
  /** The usage line(s), shown on a usage error. */
  readonly usage: string;
  /** Runs with the arguments after the command name; resolves to the process exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** Thrown for bad arguments: main prints the message and the command's usage, exit 100 (qmail's usage code). */
export class UsageError extends Error {}

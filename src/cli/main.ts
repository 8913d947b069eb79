#!/usr/bin/env node
// `tsqmail COMMAND [ARGS…]`: qmail's tools under one command. Dispatches to the command files
// in commands/ (run through a symlink named `sendmail` or `mailq`, to that command); a usage
// error prints the usage and exits 100, as qmail's programs do.

import { basename } from "node:path";
import { commands } from "./commands/index.js";
import { UsageError, type CliIo } from "./command.js";

const INVOKED_AS = ["sendmail", "mailq"];

function help(io: CliIo): void {
  io.stdout.write("usage: tsqmail COMMAND [ARGS...]\n\n");
  const width = Math.max(...commands.map((c) => c.name.length));
  for (const command of commands) io.stdout.write(`  ${command.name.padEnd(width)}  ${command.summary}\n`);
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    help(io);
    return name === undefined ? 100 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr.write(`tsqmail: unknown command '${name}' (try 'tsqmail help')\n`);
    return 100;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`tsqmail ${name}: ${error.message}\nusage: ${command.usage}\n`);
      return 100;
    }
    throw error;
  }
}

const io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
// Run through a symlink named `sendmail` or `mailq`, the program is that command (as qmail's are).
const invokedAs = basename(process.argv[1] ?? "");
const argv = INVOKED_AS.includes(invokedAs) ? [invokedAs, ...process.argv.slice(2)] : process.argv.slice(2);
main(argv, io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`tsqmail: fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 111;
  },
);

// `tsqmail adduser NAME [--password P] [--cram]`: adds a virtual user, with a maildir at
// ROOT/home/NAME/Maildir/ and the password kept as an scrypt hash in ROOT/users/virtual.
// `--cram` also keeps a CRAM-MD5 secret (see docs/configuration.md for the trade-off).

import type { Command } from "../command.js";
import { addVirtualUser } from "../../config/virtual-users.js";
import { parseConfigArgs } from "./config-args.js";

export const adduser: Command = {
  name: "adduser",
  summary: "add a virtual user with a maildir and a hashed password",
  usage: "tsqmail adduser NAME [--password P] [--cram] [--root DIR]",
  async run(args, io) {
    const { root, values, positionals } = parseConfigArgs(args, io.env, { password: { type: "string" }, cram: { type: "boolean" } }, 1);
    try {
      const user = await addVirtualUser(root, positionals[0]!, {
        password: typeof values.password === "string" ? values.password : undefined,
        cram: values.cram === true,
      });
      io.stdout.write(`added ${user.name}: ${user.maildir}\n`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== undefined) throw error;
      io.stderr.write(`tsqmail adduser: fatal: ${(error as Error).message}\n`);
      return 100;
    }
    return 0;
  },
};

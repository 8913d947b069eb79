// `tsqmail newu`: qmail-newu. Compiles ROOT/users/assign into ROOT/users/cdb (through
// users/cdb.tmp, fsync, rename). A malformed line: the error names it, exit 100, and the old
// users/cdb stays in force.

import type { Command } from "../command.js";
import { compileAssign } from "../../config/users-assign.js";
import { siteFs } from "../../io/fs.js";
import { rootPaths } from "../../root/paths.js";
import { compileToCdb } from "./compile-cdb.js";
import { parseConfigArgs } from "./config-args.js";

export const newu: Command = {
  name: "newu",
  summary: "compile users/assign into users/cdb (qmail-newu)",
  usage: "tsqmail newu [--root DIR]",
  async run(args, io) {
    const paths = rootPaths(parseConfigArgs(args, io.env, {}, 0).root);
    const source = () => siteFs("config").readFile(paths.usersFile("assign"));
    return compileToCdb("newu", io, source, (bytes) => compileAssign(bytes), paths.usersFile("cdb"), paths.usersFile("cdb.tmp"));
  },
};

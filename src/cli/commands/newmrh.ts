// `tsqmail newmrh`: qmail-newmrh. Compiles ROOT/control/morercpthosts into
// control/morercpthosts.cdb (through control/morercpthosts.tmp, fsync, rename).

import type { Command } from "../command.js";
import { compileMoreRcptHosts } from "../../config/morercpthosts.js";
import { siteFs } from "../../io/fs.js";
import { rootPaths } from "../../root/paths.js";
import { compileToCdb } from "./compile-cdb.js";
import { parseConfigArgs } from "./config-args.js";

export const newmrh: Command = {
  name: "newmrh",
  summary: "compile control/morercpthosts into morercpthosts.cdb (qmail-newmrh)",
  usage: "tsqmail newmrh [--root DIR]",
  async run(args, io) {
    const paths = rootPaths(parseConfigArgs(args, io.env, {}, 0).root);
    const source = () => siteFs("config").readFile(paths.controlFile("morercpthosts"));
    const target = paths.controlFile("morercpthosts.cdb");
    return compileToCdb("newmrh", io, source, (bytes) => compileMoreRcptHosts(bytes), target, paths.controlFile("morercpthosts.tmp"));
  },
};

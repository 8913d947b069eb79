// `tsqmail showctl`: qmail-showctl. Prints every control file in the registry with its
// effective value, marking values that are defaults and files that could not be parsed, then
// any file in ROOT/control that tsqmail does not read. Exit 0 when all files parse, 100 if not.

import type { Command } from "../command.js";
import type { Cdb } from "../../config/cdb-reader.js";
import { ConstMap } from "../../config/constmap.js";
import { CONTROL_NAMES, type ControlName } from "../../config/control-registry.js";
import { readControl, type ControlReading } from "../../config/load-control.js";
import { siteFs } from "../../io/fs.js";
import { rootPaths } from "../../root/paths.js";
import { parseConfigArgs } from "./config-args.js";

export const showctl: Command = {
  name: "showctl",
  summary: "show every control file and its effective value (qmail-showctl)",
  usage: "tsqmail showctl [--root DIR]",
  async run(args, io) {
    const paths = rootPaths(parseConfigArgs(args, io.env, {}, 0).root);
    const reading = await readControl(paths.root);
    io.stdout.write(`control directory: ${paths.control}\n`);
    for (const name of CONTROL_NAMES) io.stdout.write(describe(reading, name));
    const known = new Set<string>([...CONTROL_NAMES, "morercpthosts.tmp"]);
    let present: string[] = [];
    try {
      present = await siteFs("config").readdir(paths.control);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    for (const name of present.sort()) if (!known.has(name)) io.stdout.write(`${name}: not read by tsqmail\n`);
    return reading.errors.size === 0 ? 0 : 100;
  },
};

function describe(reading: ControlReading, name: ControlName): string {
  const error = reading.errors.get(name);
  if (error !== undefined) return `${name}: ERROR ${error.message} (using the default)\n`;
  const mark = reading.defaulted.has(name) ? " (default)" : "";
  if (name === "rcpthosts" && reading.defaulted.has(name)) return `${name}: (missing: accepting only locals)\n`;
  const value = reading.values[name] as string | number | readonly string[] | ConstMap | Cdb | undefined;
  if (value === undefined) return `${name}: (none)${mark}\n`;
  if (typeof value === "string" || typeof value === "number") return `${name}: ${value}${mark}\n`;
  const items = value instanceof ConstMap ? [...value.entries()].map(([key, target]) => `${key}:${target}`) : Array.isArray(value) ? (value as readonly string[]) : undefined;
  if (items === undefined) return `${name}: cdb with ${[...(value as Cdb).entries()].length} records${mark}\n`;
  if (items.length === 0) return `${name}: (empty)${mark}\n`;
  return `${name}:${mark}\n${items.map((item) => `  ${item}\n`).join("")}`;
}

// Reads what a service directory says about the service: ROOT/service/NAME/ holds `module` (the
// first line names a built-in service, or a path to a JS module whose default export starts it,
// relative to the directory), `down` (present: don't start it automatically, as daemontools) and
// `env/` (an envdir laid over the runtime's environment). Subdirectories starting with `.` are
// not services, as for svscan.

import { readdir, readFile, stat } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import { applyEnv, readEnvDir } from "../config/envdir.js";
import { ConfigError } from "../config/config-error.js";
import type { RootPaths } from "../root/paths.js";
import { builtinModule } from "./builtin-services.js";

export interface ServiceDefinition {
  readonly name: string;
  readonly dir: string;
  /** URL of the module whose default export starts the service. */
  readonly module: string;
  /** The built-in service it runs, when `module` names one. */
  readonly builtin: string | undefined;
  readonly normallyUp: boolean;
  readonly env: Readonly<Record<string, string>>;
}

export async function listServiceNames(paths: RootPaths): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(paths.service, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => e.name);
}

export async function readServiceDefinition(
  paths: RootPaths,
  name: string,
  baseEnv: Readonly<Record<string, string | undefined>>,
): Promise<ServiceDefinition> {
  const dir = paths.serviceDir(name);
  const label = `service/${name}`;
  let text: string;
  try {
    text = await readFile(join(dir, "module"), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new ConfigError(`${label}/module`, undefined, "missing: it must name the service to run");
    }
    throw error;
  }
  const first = text.split("\n", 1)[0]!.replace(/[ \t\r]+$/, "");
  if (first === "") throw new ConfigError(`${label}/module`, 1, "empty: it must name the service to run");
  const builtin = first.includes("/") || first.includes(".") ? undefined : first;
  const module = builtin === undefined ? moduleUrl(dir, first) : builtinModule(builtin, `${label}/module`);
  const env = applyEnv(baseEnv, await readEnvDir(join(dir, "env"), `${label}/env`));
  return { name, dir, module, builtin, normallyUp: !(await exists(join(dir, "down"))), env };
}

function moduleUrl(dir: string, path: string): string {
  if (path.startsWith("file:")) return path;
  return pathToFileURL(isAbsolute(path) ? path : join(dir, path)).href;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

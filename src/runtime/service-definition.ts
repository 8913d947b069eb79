// Reads what a service directory says about the service: ROOT/service/NAME/ holds `module` (the
// first line names a built-in service, or a path to a JS module whose default export starts it,
// relative to the directory), `down` (present: don't start it automatically, as daemontools),
// `env/` (an envdir laid over the runtime's environment) and `limits` (its worker's heap limits,
// worker-limits.ts). Subdirectories starting with `.` are not services, as for svscan.

import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { ResourceLimits } from "node:worker_threads";
import { applyEnv, readEnvDir } from "../config/envdir.js";
import { ConfigError } from "../config/config-error.js";
import { siteFs } from "../io/fs.js";
import { isMissing, lstatIfPresent, readIfPresent } from "../io/optional-files.js";
import type { RootPaths } from "../root/paths.js";
import { builtinModule } from "./builtin-services.js";
import { parseWorkerLimits } from "./worker-limits.js";

export interface ServiceDefinition {
  readonly name: string;
  readonly dir: string;
  /** URL of the module whose default export starts the service. */
  readonly module: string;
  /** The built-in service it runs, when `module` names one. */
  readonly builtin: string | undefined;
  readonly normallyUp: boolean;
  readonly env: Readonly<Record<string, string>>;
  /** From `limits`: the worker's heap limits over the runtime's; undefined without the file. */
  readonly limits: ResourceLimits | undefined;
}

const fs = siteFs("config");

export async function listServiceNames(paths: RootPaths): Promise<string[]> {
  let entries;
  try {
    entries = await fs.readdirTyped(paths.service);
  } catch (error) {
    if (isMissing(error)) return [];
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
  const bytes = await readIfPresent(fs, join(dir, "module"));
  if (bytes === undefined) throw new ConfigError(`${label}/module`, undefined, "missing: it must name the service to run");
  const first = bytes.toString("utf8").split("\n", 1)[0]!.replace(/[ \t\r]+$/, "");
  if (first === "") throw new ConfigError(`${label}/module`, 1, "empty: it must name the service to run");
  const builtin = first.includes("/") || first.includes(".") ? undefined : first;
  const module = builtin === undefined ? moduleUrl(dir, first) : builtinModule(builtin, `${label}/module`);
  const env = applyEnv(baseEnv, await readEnvDir(join(dir, "env"), `${label}/env`));
  const down = await lstatIfPresent(fs, join(dir, "down"));
  const limitsBytes = await readIfPresent(fs, join(dir, "limits"));
  const limits = limitsBytes === undefined ? undefined : parseWorkerLimits(limitsBytes, `${label}/limits`);
  return { name, dir, module, builtin, normallyUp: down === undefined, env, limits };
}

function moduleUrl(dir: string, path: string): string {
  if (path.startsWith("file:")) return path;
  return pathToFileURL(isAbsolute(path) ? path : join(dir, path)).href;
}

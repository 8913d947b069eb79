// envdir (daemontools 0.76): each file in a service's env/ directory sets or unsets one
// environment variable. The name is the file name (names starting with `.` are skipped); an
// empty file unsets the variable; otherwise the value is the file's first line with trailing
// spaces and tabs removed and each NUL turned into a newline. Unlike control files, no CR is
// stripped: envdir does not, and a service must see what daemontools would give it.
// Reads: DIR and its files through the "config" file-system site.

import { join } from "node:path";
import { siteFs, type SiteFs } from "../io/fs.js";
import { ConfigError } from "./config-error.js";

/** Variable → value, or `undefined` for "unset this variable". */
export type EnvChanges = ReadonlyMap<string, string | undefined>;

/** Reads DIR; a missing directory means no changes. `label` names it in errors (`service/smtpd/env`). */
export async function readEnvDir(dir: string, label: string, fs: SiteFs = siteFs("config")): Promise<EnvChanges> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw error;
  }
  const changes = new Map<string, string | undefined>();
  for (const name of names.sort()) {
    if (name.startsWith(".")) continue;
    if (name.includes("=")) throw new ConfigError(`${label}/${name}`, undefined, "variable name contains =");
    const bytes = await fs.readFile(join(dir, name));
    changes.set(name, bytes.length === 0 ? undefined : envValue(bytes));
  }
  return changes;
}

function envValue(bytes: Buffer): string {
  const newline = bytes.indexOf(0x0a);
  const first = bytes.subarray(0, newline === -1 ? bytes.length : newline);
  return first.toString("utf8").replace(/[ \t]+$/, "").replaceAll("\0", "\n");
}

/** A copy of `env` with the changes applied. */
export function applyEnv(env: Readonly<Record<string, string | undefined>>, changes: EnvChanges): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) result[name] = value;
  for (const [name, value] of changes) {
    if (value === undefined) delete result[name];
    else result[name] = value;
  }
  return result;
}

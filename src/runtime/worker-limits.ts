// A service's worker heap limits: `service/NAME/limits`, one `name=value` a line (blank lines and
// `#` comments allowed), the names those of Node's worker `resourceLimits`, the values in MB:
//   maxYoungGenerationSizeMb   the young generation (both semi-spaces and the new large-object
//                              space): small keeps a burst of short-lived garbage from growing
//                              the heap, at the price of more frequent scavenges
//   maxOldGenerationSizeMb     the old generation: past it the worker dies and is restarted
//   codeRangeSizeMb, stackSizeMb
// A missing file sets nothing; what it sets overrides the runtime's own `resourceLimits`. Errors
// name the file and line. `tsqmail init` writes one for the services whose measurements show
// it helps (builtin-services.ts).

import type { ResourceLimits } from "node:worker_threads";
import { ConfigError } from "../config/config-error.js";
import { configLines } from "../config/config-lines.js";

export const LIMIT_NAMES = ["maxYoungGenerationSizeMb", "maxOldGenerationSizeMb", "codeRangeSizeMb", "stackSizeMb"] as const satisfies readonly (keyof ResourceLimits)[];

type LimitName = (typeof LIMIT_NAMES)[number];

const isLimitName = (name: string): name is LimitName => (LIMIT_NAMES as readonly string[]).includes(name);

/** Parses a limits file's bytes; `file` (e.g. `service/pop3d/limits`) names it in errors. */
export function parseWorkerLimits(bytes: Uint8Array, file: string): ResourceLimits {
  const limits: Record<string, number> = {};
  for (const { n, text } of configLines(bytes, file)) {
    const line = text.trim();
    if (line === "" || line.startsWith("#")) continue;
    const equals = line.indexOf("=");
    if (equals === -1) throw new ConfigError(file, n, `expected name=value: ${JSON.stringify(line)}`);
    const name = line.slice(0, equals).trim();
    const value = line.slice(equals + 1).trim();
    if (!isLimitName(name)) throw new ConfigError(file, n, `unknown limit ${JSON.stringify(name)} (known: ${LIMIT_NAMES.join(", ")})`);
    if (name in limits) throw new ConfigError(file, n, `${name} set twice`);
    // Megabytes, as Node takes them; a fraction is allowed (stackSizeMb defaults to 4).
    if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0) throw new ConfigError(file, n, `${name}: not a positive number of MB: ${JSON.stringify(value)}`);
    limits[name] = Number(value);
  }
  return limits;
}

/** The limits a worker starts with: the runtime's, overridden by the service's own. */
export function mergeWorkerLimits(runtime: ResourceLimits | undefined, service: ResourceLimits | undefined): ResourceLimits | undefined {
  if (service === undefined) return runtime;
  return { ...runtime, ...service };
}

/** A limits file's text (what `tsqmail init` writes). */
export function formatWorkerLimits(limits: ResourceLimits): string {
  return LIMIT_NAMES.filter((name) => limits[name] !== undefined)
    .map((name) => `${name}=${limits[name]}\n`)
    .join("");
}

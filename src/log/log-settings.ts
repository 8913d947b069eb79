// A service's log settings, from ROOT/service/NAME/log/ (the place daemontools keeps a service's
// logger): `maxsize` (bytes per file, as multilog's sSIZE), `keep` (files kept, as nKEEP), and
// `stdout`, whose presence sends the lines to standard output instead of ROOT/log/NAME/.
// Reads only those three files; createServiceLog then opens the chosen writer.

import { join } from "node:path";
import { rootPaths } from "../root/paths.js";
import { logFs, type LogFs } from "./log-fs.js";
import { MultilogWriter } from "./multilog-writer.js";
import type { ServiceLog } from "./service-log.js";
import { createStdoutLog, type LineSink } from "./stdout-writer.js";

export interface LogSettings {
  readonly maxSize: number;
  readonly keep: number;
  readonly toStdout: boolean;
}

// multilog's defaults and bounds for sSIZE and nKEEP.
export const DEFAULT_MAX_SIZE = 99_999;
export const MIN_MAX_SIZE = 4096;
export const MAX_MAX_SIZE = 16_777_215;
export const DEFAULT_KEEP = 10;
export const MIN_KEEP = 2;

export function readLogSettings(root: string, name: string, fs: LogFs = logFs()): LogSettings {
  const settingsDir = join(rootPaths(root).serviceDir(name), "log");
  const number = (file: string): number | undefined => {
    const text = fs.readText(join(settingsDir, file));
    if (text === undefined) return undefined;
    const value = text.trim();
    if (!/^\d+$/.test(value)) throw new Error(`service/${name}/log/${file}: not a number: ${JSON.stringify(value)}`);
    return Number(value);
  };
  const maxSize = number("maxsize") ?? DEFAULT_MAX_SIZE;
  const keep = number("keep") ?? DEFAULT_KEEP;
  return {
    maxSize: Math.min(MAX_MAX_SIZE, Math.max(MIN_MAX_SIZE, maxSize)),
    keep: Math.max(MIN_KEEP, keep),
    toStdout: fs.stat(join(settingsDir, "stdout")) !== undefined,
  };
}

/** Opens service NAME's log as its settings say; `stdout` receives the lines if they say so. */
export function createServiceLog(root: string, name: string, stdout: LineSink): ServiceLog {
  const settings = readLogSettings(root, name);
  if (settings.toStdout) return createStdoutLog(name, stdout);
  return new MultilogWriter(rootPaths(root).logDir(name), settings);
}

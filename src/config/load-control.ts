// loadControl: reads every control file in the registry from ROOT/control and returns one
// immutable snapshot of effective values, noting which came from defaults. A service loads a
// snapshot at start (a ConfigError stops it, naming file and line) and again on reload (on
// error it keeps the snapshot it has and logs the error). readControl is the lenient form for
// showctl: it reports each file's error and goes on with the rest.
// Reads: ROOT/control/* through the "config" file-system site.

import { siteFs, type SiteFs } from "../io/fs.js";
import { rootPaths } from "../root/paths.js";
import { Cdb } from "./cdb-reader.js";
import { ConfigError } from "./config-error.js";
import { configLines } from "./config-lines.js";
import { ConstMap } from "./constmap.js";
import { parseIntegerFile, parseLineFile, parseListFile, parseMapFile } from "./control-file.js";
import { CONTROL_FILES, CONTROL_NAMES, type ControlName, type ControlSpec } from "./control-registry.js";

interface ValueOfKind {
  line: string | undefined;
  list: readonly string[];
  integer: number;
  map: ConstMap;
  cdb: Cdb | undefined;
}

export type ControlValues = {
  readonly [N in ControlName]: ValueOfKind[(typeof CONTROL_FILES)[N]["kind"]];
};

export interface ControlSnapshot {
  readonly root: string;
  readonly values: ControlValues;
  /** Files that were missing, so their value is the default. */
  readonly defaulted: ReadonlySet<ControlName>;
}

export interface ControlReading extends ControlSnapshot {
  /** Files that could not be parsed; their value is the default. */
  readonly errors: ReadonlyMap<ControlName, ConfigError>;
}

type AnyValue = ValueOfKind[keyof ValueOfKind];

export async function readControl(root: string, fs: SiteFs = siteFs("config")): Promise<ControlReading> {
  const paths = rootPaths(root);
  const values = new Map<ControlName, AnyValue>();
  const defaulted = new Set<ControlName>();
  const errors = new Map<ControlName, ConfigError>();
  let me: string | undefined;
  // `me` comes first in the registry, so every "defaults to me" file below can see it.
  for (const name of CONTROL_NAMES) {
    const spec: ControlSpec = CONTROL_FILES[name];
    const file = `control/${name}`;
    let bytes: Buffer | undefined;
    try {
      bytes = await fs.readFile(paths.controlFile(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    if (bytes === undefined) defaulted.add(name);
    try {
      values.set(name, bytes === undefined ? defaultValue(spec, me) : parse(spec, bytes, file));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      errors.set(name, error);
      values.set(name, defaultValue(spec, me));
    }
    if (name === "me") me = values.get("me") as string | undefined;
  }
  return { root: paths.root, values: Object.fromEntries(values) as unknown as ControlValues, defaulted, errors };
}

/** The snapshot, or the first ConfigError (in registry order) if any file is malformed. */
export async function loadControl(root: string, fs?: SiteFs): Promise<ControlSnapshot> {
  const { errors, ...snapshot } = await readControl(root, fs);
  for (const error of errors.values()) throw error;
  return snapshot;
}

function parse(spec: ControlSpec, bytes: Buffer, file: string): AnyValue {
  if (spec.kind === "cdb") {
    try {
      return Cdb.fromBuffer(bytes);
    } catch (error) {
      throw new ConfigError(file, undefined, (error as Error).message);
    }
  }
  const lines = configLines(bytes, file);
  switch (spec.kind) {
    case "line":
      return parseLineFile(lines, file);
    case "integer":
      return parseIntegerFile(lines, file);
    case "list":
      if (spec.validate === undefined) return parseListFile(lines, file);
      spec.validate(lines, file);
      return parseListFile(lines, file, true);
    case "map":
      return parseMapFile(lines, file);
  }
}

function defaultValue(spec: ControlSpec, me: string | undefined): AnyValue {
  switch (spec.kind) {
    case "line":
      return (spec.me ? me : undefined) ?? spec.literal;
    case "integer":
      return spec.default;
    case "list":
      return spec.me && me !== undefined ? [me] : [];
    case "map":
      return new ConstMap();
    case "cdb":
      return undefined;
  }
}

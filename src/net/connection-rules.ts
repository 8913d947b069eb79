// A listener's connection rules: the rules cdb tcprules writes, read into memory when the
// listener starts and again on reload (svc -h). A reload that fails (a required file gone, a
// file that is not a cdb) leaves the rules in force unchanged and throws the ConfigError, for
// the listener to log. With no rules file every connection is allowed, as tcpserver without -x.
// Reads: the rules cdb, through the "config" file-system site.

import { readCdbIfExists, type Cdb } from "../config/cdb-reader.js";
import { ConfigError } from "../config/config-error.js";
import { matchRules, type Connection, type RuleMatch } from "../config/tcprules-lookup.js";
import type { RulesSource } from "./listener-settings.js";

const NO_RULES: RuleMatch = { allow: true, env: [], rule: undefined };

export class ConnectionRules {
  private constructor(
    private readonly source: RulesSource,
    private cdb: Cdb | undefined,
  ) {}

  static async load(source: RulesSource): Promise<ConnectionRules> {
    return new ConnectionRules(source, await readRules(source));
  }

  async reload(): Promise<void> {
    this.cdb = await readRules(this.source);
  }

  /** The rule for this connection; throws CdbFormatError when the cdb is corrupt where the lookup reads. */
  match(connection: Connection): RuleMatch {
    return this.cdb === undefined ? NO_RULES : matchRules(this.cdb, connection);
  }
}

async function readRules(source: RulesSource): Promise<Cdb | undefined> {
  let cdb: Cdb | undefined;
  try {
    cdb = await readCdbIfExists(source.path);
  } catch (error) {
    throw new ConfigError(source.label, undefined, error instanceof Error ? error.message : String(error));
  }
  if (cdb === undefined && source.required) throw new ConfigError(source.label, undefined, "missing (RULES names it)");
  return cdb;
}

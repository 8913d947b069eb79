// morercpthosts → morercpthosts.cdb (qmail-newmrh): each host in control/morercpthosts becomes a
// key, lowercased, with empty data. qmail-smtpd searches the cdb after rcpthosts, so very long
// host lists need not be held in memory.

import type { CdbRecord } from "./cdb-writer.js";
import { configLines } from "./config-lines.js";
import { asciiLower } from "./constmap.js";
import { parseListFile } from "./control-file.js";

export const MORERCPTHOSTS_FILE = "control/morercpthosts";

export function compileMoreRcptHosts(bytes: Uint8Array, file = MORERCPTHOSTS_FILE): CdbRecord[] {
  return parseListFile(configLines(bytes, file), file).map((host): CdbRecord => [asciiLower(host), ""]);
}

// users/assign compiler (qmail-newu): turns the assign text into the records of users/cdb.
// `=local:user:uid:gid:home:dash:ext:` is an exact entry, key `!` + lowercased local + NUL;
// `+prefix:user:uid:gid:home:dash:pre:` is a prefix entry, key `!` + lowercased prefix. The data
// is the six fields joined by NUL. A final record with the empty key lists the "wildchars": the
// last character of every prefix key, which the lookup uses to skip impossible prefixes.
// The file ends with a line holding a single `.`. Where qmail-newu says only "bad format in
// users/assign", or ignores text, we name the line and the fault.

import { ConfigError } from "./config-error.js";
import { configLines } from "./config-lines.js";
import type { CdbRecord } from "./cdb-writer.js";
import { asciiLower } from "./constmap.js";

export const ASSIGN_FILE = "users/assign";

export function compileAssign(bytes: Uint8Array, file = ASSIGN_FILE): CdbRecord[] {
  const records: CdbRecord[] = [];
  let wildchars = "";
  const lines = configLines(bytes, file);
  const end = lines.findIndex((line) => line.text === ".");
  if (end === -1) throw new ConfigError(file, undefined, 'missing the final "." line');
  const after = lines.slice(end + 1).find((line) => line.text !== "");
  if (after !== undefined) throw new ConfigError(file, after.n, 'text after the final "." line');
  for (const { n, text } of lines.slice(0, end)) {
    const fail = (reason: string): never => {
      throw new ConfigError(file, n, reason);
    };
    const type = text[0];
    if (type !== "=" && type !== "+") fail(`expected a line starting with = or +: ${JSON.stringify(text)}`);
    const fields = text.slice(1).split(":");
    // Seven fields and the trailing colon: local, user, uid, gid, home, dash, ext, "".
    if (fields.length !== 8 || fields[7] !== "") fail(`expected ${type}local:user:uid:gid:home:dash:ext: (7 fields and a final colon)`);
    const [local = "", user = "", uid = "", gid = "", home = ""] = fields;
    if (user === "") fail("empty user name");
    if (!/^[0-9]+$/.test(uid)) fail(`uid is not a number: ${JSON.stringify(uid)}`);
    if (!/^[0-9]+$/.test(gid)) fail(`gid is not a number: ${JSON.stringify(gid)}`);
    if (!home.startsWith("/")) fail(`home directory is not absolute: ${JSON.stringify(home)}`);
    const data = fields.slice(1, 7).join("\0");
    if (type === "=") {
      records.push([`!${asciiLower(local)}\0`, data]);
    } else {
      records.push([`!${asciiLower(local)}`, data]);
      const last = local.at(-1);
      if (last !== undefined && !wildchars.includes(last)) wildchars += last;
    }
  }
  records.push(["", wildchars]);
  return records;
}

// Local part → account, in the order tsqmail's lspawn uses: users/cdb (qmail-lspawn's lookup),
// then virtual users (with extensions after a `-`, as for system accounts), then qmail-getpw's
// system accounts, then the alias user.
// users/cdb lookup: the exact key `!local\0` first; then the prefixes `!l…` of `!local`, longest
// first, trying only the bare `!` and prefixes whose last character is a wildchar; a prefix hit
// appends the rest of the local part (original case) to the entry's extension.
// The alias user's home is ROOT/alias; it runs as the passwd account `alias` when there is
// one, else as tsqmail's own uid and gid.
// Reads: ROOT/users/cdb, ROOT/users/virtual, the passwd file; "config" site.

import { siteFs, type SiteFs } from "../io/fs.js";
import { rootPaths } from "../root/paths.js";
import { type Cdb, readCdbIfExists } from "./cdb-reader.js";
import { ConfigError } from "./config-error.js";
import { asciiLower } from "./constmap.js";
import { getpw, readPasswd } from "./getpw.js";
import type { LocalUser } from "./local-user.js";
import { findVirtualUser } from "./virtual-users.js";

export const USERS_CDB = "users/cdb";

export function lookupAssign(cdb: Cdb, local: string): LocalUser | undefined {
  const wildchars = cdb.get("");
  // qmail-newu always writes this record; without it the cdb is not a users/cdb.
  if (wildchars === undefined) throw new ConfigError(USERS_CDB, undefined, "no wildchars record (not made by newu?)");
  const lower = `!${asciiLower(local)}`;
  const exact = cdb.get(`${lower}\0`);
  if (exact !== undefined) return assignment(exact, "");
  const wild = wildchars.toString("utf8");
  for (let end = lower.length; end >= 1; end--) {
    if (end > 1 && !wild.includes(lower[end - 1]!)) continue;
    const data = cdb.get(lower.slice(0, end));
    if (data !== undefined) return assignment(data, local.slice(end - 1));
  }
  return undefined;
}

function assignment(data: Buffer, rest: string): LocalUser {
  const [user = "", uid = "", gid = "", home = "", dash = "", ext = ""] = data.toString("utf8").split("\0");
  return { source: "assign", user, uid: Number(uid), gid: Number(gid), home, dash, ext: ext + rest };
}

/** A virtual user by qmail-getpw's prefix rule: `alice-lists-x` is alice with extension `lists-x`. */
async function findVirtualWithExtension(root: string, local: string, fs: SiteFs): Promise<LocalUser | undefined> {
  for (let end = local.length; end > 0; end--) {
    if (end < local.length && local[end] !== "-") continue;
    const virtual = await findVirtualUser(root, local.slice(0, end), fs);
    if (virtual === undefined) continue;
    const hasExt = end < local.length;
    const ids = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    return { source: "virtual", user: virtual.name, ...ids, home: virtual.home, dash: hasExt ? "-" : "", ext: hasExt ? local.slice(end + 1) : "" };
  }
  return undefined;
}

export interface ResolveOptions {
  /** The passwd file for system accounts; default /etc/passwd. */
  readonly passwdFile?: string;
}

export async function resolveLocalUser(root: string, local: string, options: ResolveOptions = {}, fs: SiteFs = siteFs("config")): Promise<LocalUser> {
  const paths = rootPaths(root);
  const cdb = await readCdbIfExists(paths.usersFile("cdb"), fs);
  const assigned = cdb === undefined ? undefined : lookupAssign(cdb, local);
  if (assigned !== undefined) return assigned;

  const virtual = await findVirtualWithExtension(root, local, fs);
  if (virtual !== undefined) return virtual;

  const accounts = await readPasswd(options.passwdFile, fs);
  const system = await getpw(local, accounts, fs);
  if (system !== undefined) return system;

  const alias = accounts.get("alias");
  return {
    source: "alias",
    user: "alias",
    uid: alias?.uid ?? process.getuid?.() ?? 0,
    gid: alias?.gid ?? process.getgid?.() ?? 0,
    home: paths.alias,
    dash: "-",
    ext: local,
  };
}

// Local part → account, in the order tsqmail's lspawn uses: users/cdb (qmail-lspawn's lookup),
// then virtual users (with extensions after a `-`, as for system accounts), then qmail-getpw's
// system accounts, then the alias user.
// users/cdb lookup: the exact key `!local\0` first; then the prefixes `!l…` of `!local`, longest
// first, trying only the bare `!` and prefixes whose last character is a wildchar; a prefix hit
// appends the rest of the local part (original case) to the entry's extension.
// The alias user's home is ROOT/alias; it runs as the passwd account `alias` when there is
// one, else as tsqmail's own uid and gid.
// A UsersLookup (lspawn keeps one) reads users/cdb and the passwd file again only when they
// changed (file-cache.ts), and knows from a listing of ROOT/users whether there is a users/cdb at
// all; users/virtual is cached by virtual-users.ts. So a changed file counts from the next lookup on.
// Reads: ROOT/users/cdb, ROOT/users/virtual, the passwd file; "config" site.

import { siteFs, type SiteFs } from "../io/fs.js";
import { isMissing } from "../io/optional-files.js";
import { rootPaths, type RootPaths } from "../root/paths.js";
import { Cdb } from "./cdb-reader.js";
import { ConfigError } from "./config-error.js";
import { asciiLower } from "./constmap.js";
import { DirectoryCache, mayHold, ParsedFileCache, systemNow } from "./file-cache.js";
import { getpw, parsePasswd, type PasswdEntry } from "./getpw.js";
import type { LocalUser } from "./local-user.js";
import { findVirtualUser } from "./virtual-users.js";

export const USERS_CDB = "users/cdb";
/** tsqmail's own ids: virtual users' deliveries run as them, and the alias user's without an `alias` account. */
const OWN = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

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
    return { source: "virtual", user: virtual.name, ...OWN, home: virtual.home, dash: hasExt ? "-" : "", ext: hasExt ? local.slice(end + 1) : "" };
  }
  return undefined;
}

export interface ResolveOptions {
  /** The passwd file for system accounts; default /etc/passwd. */
  readonly passwdFile?: string;
}

/** Local part → account, with the users files cached between lookups. */
export class UsersLookup {
  private readonly paths: RootPaths;
  private readonly passwdFile: string;
  private readonly usersDir: DirectoryCache;
  private readonly cdbs: ParsedFileCache<Cdb>;
  private readonly passwds: ParsedFileCache<Map<string, PasswdEntry>>;

  /** `now`: the system's time, for the cache (tests pass a later one to see what is kept). */
  constructor(
    root: string,
    options: ResolveOptions = {},
    private readonly fs: SiteFs = siteFs("config"),
    now: () => number = systemNow,
  ) {
    this.paths = rootPaths(root);
    this.passwdFile = options.passwdFile ?? "/etc/passwd";
    this.usersDir = new DirectoryCache(fs, now);
    this.cdbs = new ParsedFileCache(fs, (bytes) => Cdb.fromBuffer(bytes), now);
    this.passwds = new ParsedFileCache(fs, (bytes) => parsePasswd(bytes.toString("utf8")), now);
  }

  async resolve(local: string): Promise<LocalUser> {
    const cdb = await this.usersCdb();
    const assigned = cdb === undefined ? undefined : lookupAssign(cdb, local);
    if (assigned !== undefined) return assigned;

    const virtual = await findVirtualWithExtension(this.paths.root, local, this.fs);
    if (virtual !== undefined) return virtual;

    const accounts = await this.passwds.get(this.passwdFile);
    if (accounts === undefined) throw new Error(`${this.passwdFile}: no such file`);
    const system = await getpw(local, accounts, this.fs);
    if (system !== undefined) return system;

    const alias = accounts.get("alias");
    return {
      source: "alias",
      user: "alias",
      uid: alias?.uid ?? OWN.uid,
      gid: alias?.gid ?? OWN.gid,
      home: this.paths.alias,
      dash: "-",
      ext: local,
    };
  }

  /** users/cdb, or undefined when there is none (most roots): the listing says so without a failing open. */
  private async usersCdb(): Promise<Cdb | undefined> {
    let listing;
    try {
      listing = await this.usersDir.list(this.paths.users);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    return mayHold(listing, "cdb") ? this.cdbs.get(this.paths.usersFile("cdb")) : undefined;
  }
}

/** One uncached lookup. */
export function resolveLocalUser(root: string, local: string, options: ResolveOptions = {}, fs: SiteFs = siteFs("config")): Promise<LocalUser> {
  return new UsersLookup(root, options, fs).resolve(local);
}

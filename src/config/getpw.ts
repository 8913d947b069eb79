// qmail-getpw for tsqmail: maps a local part to a system account. Try each prefix of the local
// part that ends at its end or just before a `-`, longest first and shorter than 32 characters,
// lowercased, as a user name; accept the first account with uid ≠ 0 whose home directory exists
// and is owned by it. Otherwise the mail goes to the alias user with the whole local part as
// extension.
// Node has no getpwnam(3), so accounts come from parsing the passwd file (default /etc/passwd)
// ourselves: accounts only in NSS sources (LDAP, sssd) are not seen.
// Reads: the passwd file and a stat of each candidate home, through the "config" site.

import { siteFs, type SiteFs } from "../io/fs.js";
import type { LocalUser } from "./local-user.js";
import { asciiLower } from "./constmap.js";

export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

const MAX_USER_LENGTH = 31;

/** passwd(5) lines `name:pw:uid:gid:gecos:home:shell`; lines that are not accounts (NIS `+`, junk) are skipped. */
export function parsePasswd(text: string): Map<string, PasswdEntry> {
  const accounts = new Map<string, PasswdEntry>();
  for (const line of text.split("\n")) {
    const [name = "", , uid = "", gid = "", , home = ""] = line.split(":");
    if (!/^[0-9]+$/.test(uid) || !/^[0-9]+$/.test(gid) || name === "" || name.startsWith("+") || name.startsWith("-")) continue;
    // getpwnam returns the first entry with a name.
    if (!accounts.has(name)) accounts.set(name, { name, uid: Number(uid), gid: Number(gid), home });
  }
  return accounts;
}

export async function readPasswd(path = "/etc/passwd", fs: SiteFs = siteFs("config")): Promise<Map<string, PasswdEntry>> {
  return parsePasswd((await fs.readFile(path)).toString("utf8"));
}

/** The system account for `local`, by qmail-getpw's rules, or undefined (then the alias user applies). */
export async function getpw(
  local: string,
  accounts: ReadonlyMap<string, PasswdEntry>,
  fs: SiteFs = siteFs("config"),
): Promise<LocalUser | undefined> {
  for (let end = local.length; end > 0; end--) {
    if (end > MAX_USER_LENGTH || (end < local.length && local[end] !== "-")) continue;
    const account = accounts.get(asciiLower(local.slice(0, end)));
    if (account === undefined || account.uid === 0) continue;
    if (!(await ownsHome(account, fs))) continue;
    const hasExt = end < local.length;
    return {
      source: "passwd",
      user: account.name,
      uid: account.uid,
      gid: account.gid,
      home: account.home,
      dash: hasExt ? "-" : "",
      ext: hasExt ? local.slice(end + 1) : "",
    };
  }
  return undefined;
}

async function ownsHome(account: PasswdEntry, fs: SiteFs): Promise<boolean> {
  try {
    return (await fs.stat(account.home)).uid === account.uid;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // qmail-getpw treats a missing home as "not this account", but a temporary error as a
    // reason to try again later rather than to misdeliver to the alias user.
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EACCES") return false;
    throw error;
  }
}

// Virtual users: mailboxes that are not system accounts, made by `tsqmail adduser`. Each has a
// maildir at ROOT/home/NAME/Maildir/ and an entry in ROOT/users/virtual (mode 0600):
// `name:scrypt-hash:` (the hash may be empty: mail only, no login). A user added with CRAM-MD5
// also has a line `name:base64-secret` in ROOT/users/cram-md5 (mode 0600), because CRAM-MD5
// needs a plaintext-equivalent secret; keeping it in its own file means the main file never
// holds one, and deleting that file turns CRAM-MD5 off for everyone (docs/configuration.md).
// Reads and writes: those two files (atomically replaced), the user's maildir; "config" site.

import { siteFs, type SiteFs } from "../io/fs.js";
import { readIfPresent } from "../io/optional-files.js";
import { rootPaths } from "../root/paths.js";
import { writeFileAtomic } from "./atomic-write.js";
import { ConfigError } from "./config-error.js";
import { configLines } from "./config-lines.js";
import { ParsedFileCache } from "./file-cache.js";
import { hashPassword, verifyPassword } from "./password-hash.js";

export const VIRTUAL_FILE = "users/virtual";
export const CRAM_FILE = "users/cram-md5";

export interface VirtualUser {
  readonly name: string;
  /** The scrypt hash, or "" for a user who cannot log in. */
  readonly hash: string;
  readonly home: string;
  readonly maildir: string;
}

/** Lower-case so the name matches local parts (which compare case-insensitively). */
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function isVirtualUserName(name: string): boolean {
  return NAME.test(name);
}

function parseTable(bytes: Buffer, file: string): Map<string, string> {
  const table = new Map<string, string>();
  for (const { n, text } of configLines(bytes, file)) {
    if (text === "") continue;
    const colon = text.indexOf(":");
    const name = text.slice(0, colon);
    if (colon === -1 || !isVirtualUserName(name)) throw new ConfigError(file, n, `expected name:value: ${JSON.stringify(text)}`);
    if (table.has(name)) throw new ConfigError(file, n, `duplicate user ${name}`);
    table.set(name, text.slice(colon + 1).replace(/:$/, ""));
  }
  return table;
}

/** A fresh table, for a writer to change. */
async function readTable(path: string, file: string, fs: SiteFs): Promise<Map<string, string>> {
  const bytes = await readIfPresent(fs, path);
  return bytes === undefined ? new Map() : parseTable(bytes, file);
}

type TableFile = typeof VIRTUAL_FILE | typeof CRAM_FILE;

/**
 * Lookups share one parse per version of each file (file-cache.ts): a login costs a stat, not a
 * read and parse of every user — 1 000 logins at once parsed the table 1 000 times, and that
 * garbage grew a worker's heap. Kept per SiteFs, so a caller's own (a fault plan's) sees its reads.
 */
const lookupCaches = new WeakMap<SiteFs, Record<TableFile, ParsedFileCache<ReadonlyMap<string, string>>>>();
const configFs = siteFs("config");

async function lookupTable(path: string, file: TableFile, fs: SiteFs): Promise<ReadonlyMap<string, string>> {
  let caches = lookupCaches.get(fs);
  if (caches === undefined) {
    caches = {
      [VIRTUAL_FILE]: new ParsedFileCache(fs, (bytes) => parseTable(bytes, VIRTUAL_FILE)),
      [CRAM_FILE]: new ParsedFileCache(fs, (bytes) => parseTable(bytes, CRAM_FILE)),
    };
    lookupCaches.set(fs, caches);
  }
  return (await caches[file].get(path)) ?? new Map();
}

function entryFor(root: string, name: string, hash: string): VirtualUser {
  const home = rootPaths(root).homeDir(name);
  return { name, hash, home, maildir: `${home}/Maildir/` };
}

export async function findVirtualUser(root: string, name: string, fs: SiteFs = configFs): Promise<VirtualUser | undefined> {
  const table = await lookupTable(rootPaths(root).usersFile("virtual"), VIRTUAL_FILE, fs);
  const hash = table.get(name.toLowerCase());
  return hash === undefined ? undefined : entryFor(root, name.toLowerCase(), hash);
}

/** The POP3 / SMTP AUTH (PLAIN, LOGIN) check: true only for a known user with a matching password. */
export async function checkVirtualPassword(root: string, name: string, password: string, fs?: SiteFs): Promise<boolean> {
  const user = await findVirtualUser(root, name, fs);
  return user !== undefined && user.hash !== "" && (await verifyPassword(password, user.hash));
}

/** The CRAM-MD5 secret of a user who has one (the server computes HMAC-MD5(secret, challenge)). */
export async function virtualCramSecret(root: string, name: string, fs: SiteFs = configFs): Promise<string | undefined> {
  const table = await lookupTable(rootPaths(root).usersFile("cram-md5"), CRAM_FILE, fs);
  const secret = table.get(name.toLowerCase());
  return secret === undefined ? undefined : Buffer.from(secret, "base64").toString("utf8");
}

export interface AddUserOptions {
  readonly password?: string | undefined;
  /** Also keep a CRAM-MD5 secret (requires a password). */
  readonly cram?: boolean | undefined;
}

/** Adds a virtual user and makes its maildir; an existing name is an error. */
export async function addVirtualUser(root: string, name: string, options: AddUserOptions, fs: SiteFs = siteFs("config")): Promise<VirtualUser> {
  if (!isVirtualUserName(name)) throw new Error(`bad user name ${JSON.stringify(name)}: use a-z, 0-9, . _ - (at most 64)`);
  if (options.cram === true && options.password === undefined) throw new Error("CRAM-MD5 needs a password");
  const paths = rootPaths(root);
  const virtualPath = paths.usersFile("virtual");
  const table = await readTable(virtualPath, VIRTUAL_FILE, fs);
  if (table.has(name)) throw new Error(`user ${name} exists`);
  const hash = options.password === undefined ? "" : await hashPassword(options.password);
  const user = entryFor(root, name, hash);

  for (const dir of [paths.users, paths.home, user.home, user.maildir, `${user.maildir}tmp`, `${user.maildir}new`, `${user.maildir}cur`]) {
    await mkdirIfMissing(dir, fs);
  }
  if (options.cram === true) {
    const cramPath = paths.usersFile("cram-md5");
    const secrets = await readTable(cramPath, CRAM_FILE, fs);
    secrets.set(name, Buffer.from(options.password!, "utf8").toString("base64"));
    await writeFileAtomic(cramPath, `${cramPath}.tmp`, tableBytes(secrets, ""), 0o600, fs);
  }
  table.set(name, hash);
  await writeFileAtomic(virtualPath, `${virtualPath}.tmp`, tableBytes(table, ":"), 0o600, fs);
  return user;
}

function tableBytes(table: ReadonlyMap<string, string>, end: string): Buffer {
  return Buffer.from([...table].map(([name, value]) => `${name}:${value}${end}\n`).join(""), "utf8");
}

async function mkdirIfMissing(dir: string, fs: SiteFs): Promise<void> {
  try {
    await fs.mkdir(dir, 0o700);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
}

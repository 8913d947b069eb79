// What lspawn keeps between deliveries (config/file-cache.ts and its users: users/cdb, the passwd
// file, homes and .qmail files, a maildir's maildirsize) and that a change counts from the very
// next delivery. The caches here get a clock two minutes ahead, so whatever they see counts as
// settled and is kept; each change is then followed by setting the changed file's or directory's
// mtime back to an old date, so the next change is told apart by its stat even within one kernel tick.

import { chmodSync, chownSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildCdb } from "../../src/config/cdb-writer.js";
import { DirectoryCache, mayHold, ParsedFileCache } from "../../src/config/file-cache.js";
import { compileAssign } from "../../src/config/users-assign.js";
import { UsersLookup } from "../../src/config/users-lookup.js";
import { addVirtualUser } from "../../src/config/virtual-users.js";
import { siteFs, type SiteFs } from "../../src/io/fs.js";
import { DotQmailFiles } from "../../src/services/lspawn/dot-qmail.js";
import { deliverMaildir } from "../../src/services/lspawn/maildir-delivery.js";
import { prepareDelivery, readMessage, type PrepareSettings } from "../../src/services/lspawn/prepare.js";
import { makeMaildir, newMessages } from "./lspawn-root.js";

const later = (): number => Date.now() + 120_000;
const OLD = new Date("2020-01-01T00:00:00Z");
/** After a change: the next change will differ in mtime whenever it happens. */
const age = (...paths: string[]): void => paths.forEach((path) => utimesSync(path, OLD, OLD));

let dir = "";
const fresh = (): string => (dir = mkdtempSync(join(tmpdir(), "tsqmail-file-caches-")));
afterEach(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
  dir = "";
});

/** The "config" site, counting stats, reads and listings. */
function countingFs(): SiteFs & { stats: number; reads: number; listings: number } {
  const fs = siteFs("config");
  const counted = {
    ...fs,
    stats: 0,
    reads: 0,
    listings: 0,
    stat: (path: string) => {
      counted.stats += 1;
      return fs.stat(path);
    },
    readFile: (path: string) => {
      counted.reads += 1;
      return fs.readFile(path);
    },
    readdir: (path: string) => {
      counted.listings += 1;
      return fs.readdir(path);
    },
  };
  return counted;
}

describe("file cache", () => {
  it("keeps a settled file until its stat changes: rewritten in place, replaced, chmod'ed or removed", async () => {
    const path = join(fresh(), "f");
    writeFileSync(path, "one");
    age(path);
    const fs = countingFs();
    const cache = new ParsedFileCache(fs, (bytes, stats) => `${bytes.toString()} ${(stats.mode & 0o777).toString(8)}`, later);
    expect(await cache.get(path)).toBe("one 644");
    expect(await cache.get(path)).toBe("one 644");
    expect(fs.reads).toBe(1);

    writeFileSync(path, "three"); // same inode
    age(path);
    expect(await cache.get(path)).toBe("three 644");
    writeFileSync(`${path}.new`, "fourth");
    renameSync(`${path}.new`, path);
    age(path);
    expect(await cache.get(path)).toBe("fourth 644");
    chmodSync(path, 0o600);
    expect(await cache.get(path)).toBe("fourth 600");
    expect(await cache.get(path)).toBe("fourth 600");
    expect(fs.reads).toBe(4);
    unlinkSync(path);
    expect(await cache.get(path)).toBeUndefined();
  });

  it("keeps nothing changed in the last two seconds: a same-size rewrite within one timestamp tick could look unchanged", async () => {
    const path = join(fresh(), "f");
    writeFileSync(path, "one");
    const fs = countingFs();
    const cache = new ParsedFileCache(fs, (bytes) => bytes.toString());
    expect(await cache.get(path)).toBe("one");
    expect(await cache.get(path)).toBe("one");
    expect(fs.reads).toBe(2);
  });

  it("lists a directory again only when it changed, and says it does not know what an unlistable one holds", async () => {
    const root = fresh();
    const fs = countingFs();
    const listings = new DirectoryCache(fs, later);
    age(root);
    expect([...(await listings.list(root)).names!]).toEqual([]);
    await listings.list(root);
    expect(fs.listings).toBe(1);
    writeFileSync(join(root, "cdb"), "x");
    age(root);
    const listing = await listings.list(root);
    expect(mayHold(listing, "cdb")).toBe(true);
    expect(mayHold(listing, "virtual")).toBe(false);
    expect(fs.listings).toBe(2);

    const unlistable = new DirectoryCache({ ...fs, readdir: () => Promise.reject(Object.assign(new Error("EACCES"), { code: "EACCES" })) }, later);
    expect(mayHold(await unlistable.list(root), "anything")).toBe(true);
  });

  it("lookups that overlap share one stat; a lookup after they finished stats afresh and sees a change", async () => {
    const root = fresh();
    const path = join(root, "f");
    writeFileSync(path, "one");
    age(path, root);
    const fs = countingFs();
    const cache = new ParsedFileCache(fs, (bytes) => bytes.toString(), later);
    const listings = new DirectoryCache(fs, later);
    expect(await Promise.all([cache.get(path), cache.get(path), cache.get(path)])).toEqual(["one", "one", "one"]);
    await Promise.all([listings.list(root), listings.list(root)]);
    expect(fs.stats).toBe(2);
    expect(fs.reads).toBe(1);

    writeFileSync(path, "two!");
    age(path);
    expect(await cache.get(path)).toBe("two!");
    expect(fs.stats).toBe(3);
    // A missing file: every overlapping lookup gets the one stat's answer.
    unlinkSync(path);
    expect(await Promise.all([cache.get(path), cache.get(path)])).toEqual([undefined, undefined]);
    expect(fs.stats).toBe(4);
  });
});

describe("what lspawn keeps between deliveries", () => {
  /** A root with the virtual user alice and an empty passwd file; the paths a test changes. */
  async function makeRoot() {
    const root = fresh();
    await addVirtualUser(root, "alice", {});
    const paths = { users: join(root, "users"), cdb: join(root, "users", "cdb"), passwd: join(root, "passwd"), alice: join(root, "home", "alice") };
    writeFileSync(paths.passwd, "");
    mkdirSync(join(root, "queue"), { recursive: true });
    const messFile = join(root, "queue", "mess");
    writeFileSync(messFile, "Subject: hi\n\nhello\n");
    age(paths.users, paths.passwd, paths.alice, join(paths.users, "virtual"));
    return { root, paths, messFile };
  }

  function settings(root: string, passwd: string): PrepareSettings {
    return {
      defaultDelivery: "./Maildir/",
      users: new UsersLookup(root, { passwdFile: passwd }, siteFs("config"), later),
      homes: new DotQmailFiles(later),
      message: readMessage,
      ownUid: process.getuid?.() ?? 0,
      now: Date.now,
    };
  }

  it("a users/cdb made, changed or removed, and a passwd file changed, count from the next lookup", async () => {
    const { root, paths } = await makeRoot();
    const users = new UsersLookup(root, { passwdFile: paths.passwd }, siteFs("config"), later);
    expect(await users.resolve("alice")).toMatchObject({ source: "virtual" });
    expect(await users.resolve("carol")).toMatchObject({ source: "alias", ext: "carol" });

    writeFileSync(paths.cdb, buildCdb(compileAssign(Buffer.from("=alice:joe:1001:1001:/home/joe:::\n.\n"))));
    age(paths.cdb, paths.users);
    expect(await users.resolve("alice")).toMatchObject({ source: "assign", user: "joe", home: "/home/joe" });
    writeFileSync(paths.cdb, buildCdb(compileAssign(Buffer.from("=alice:joanna:1002:1002:/home/joanna:::\n.\n"))));
    age(paths.cdb);
    expect(await users.resolve("alice")).toMatchObject({ source: "assign", user: "joanna", home: "/home/joanna" });
    unlinkSync(paths.cdb);
    age(paths.users);
    expect(await users.resolve("alice")).toMatchObject({ source: "virtual" });

    const carolHome = join(root, "carol-home");
    mkdirSync(carolHome);
    // qmail-getpw takes no uid 0 account, and wants the home owned by the account.
    const uid = process.getuid?.() || 4242;
    if (process.getuid?.() === 0) chownSync(carolHome, uid, uid);
    writeFileSync(paths.passwd, `carol:x:${uid}:${uid}::${carolHome}:/bin/sh\n`);
    age(paths.passwd);
    expect(await users.resolve("carol")).toMatchObject({ source: "passwd", user: "carol", home: carolHome });
  });

  it("a virtual user added after the first delivery is found by the next one", async () => {
    const { root, paths } = await makeRoot();
    const users = new UsersLookup(root, { passwdFile: paths.passwd }, siteFs("config"), later);
    expect(await users.resolve("dave")).toMatchObject({ source: "alias", ext: "dave" });
    await addVirtualUser(root, "dave", {});
    age(paths.users, join(paths.users, "virtual"));
    expect(await users.resolve("dave")).toMatchObject({ source: "virtual", home: join(root, "home", "dave") });
  });

  it("a .qmail file made, changed, made writable or removed counts from the next delivery", async () => {
    const { root, paths, messFile } = await makeRoot();
    const prepare = settings(root, paths.passwd);
    const deliver = () =>
      prepareDelivery(prepare, { messFile, sender: "s@example.org", recipient: "alice-list@example.org" }, () => Promise.reject(new Error("not a system account")));
    const dotQmail = join(paths.alice, ".qmail-list");
    await expect(deliver()).rejects.toEqual({ status: "D", text: "Sorry, no mailbox here by that name. (#5.1.1)" });

    writeFileSync(dotQmail, "./Maildir/\n");
    age(dotQmail, paths.alice);
    expect((await deliver()).instructions).toEqual([{ kind: "maildir", path: join(paths.alice, "Maildir/") }]);
    expect((await deliver()).instructions).toEqual([{ kind: "maildir", path: join(paths.alice, "Maildir/") }]);

    writeFileSync(dotQmail, "&bob@example.org\n");
    age(dotQmail);
    expect((await deliver()).instructions).toEqual([{ kind: "forward", address: "bob@example.org" }]);
    chmodSync(dotQmail, 0o646);
    await expect(deliver()).rejects.toEqual({ status: "Z", text: "Uh-oh: .qmail file is writable. (#4.7.0)" });
    chmodSync(dotQmail, 0o644);
    expect((await deliver()).newSender).toBe("s@example.org");

    writeFileSync(`${dotQmail}-owner`, "&owner@example.org\n");
    age(paths.alice);
    expect((await deliver()).newSender).toBe("alice-list-owner@example.org");
    unlinkSync(dotQmail);
    age(paths.alice);
    await expect(deliver()).rejects.toEqual({ status: "D", text: "Sorry, no mailbox here by that name. (#5.1.1)" });
  });

  it("a quota set on a maildir after deliveries to it applies to the next delivery", async () => {
    const maildir = `${join(fresh(), "Maildir")}/`;
    makeMaildir(maildir);
    age(maildir);
    const listings = new DirectoryCache(siteFs("maildir"), later);
    await deliverMaildir(maildir, "", Buffer.from("x".repeat(100)), "hard", listings);
    await deliverMaildir(maildir, "", Buffer.from("x".repeat(100)), "hard", listings);
    writeFileSync(join(maildir, "maildirsize"), "250S\n200 2\n");
    age(maildir);
    await expect(deliverMaildir(maildir, "", Buffer.from("x".repeat(100)), "hard", listings)).rejects.toEqual({ status: "D", text: "Mailbox is over quota. (#5.2.2)" });
    expect(newMessages(maildir)).toHaveLength(2);
  });
});

import { chown, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { adduser } from "../../src/cli/commands/adduser.js";
import { newu } from "../../src/cli/commands/newu.js";
import { Cdb, readCdb } from "../../src/config/cdb-reader.js";
import { buildCdb } from "../../src/config/cdb-writer.js";
import { getpw, parsePasswd } from "../../src/config/getpw.js";
import { hashPassword, verifyPassword } from "../../src/config/password-hash.js";
import { compileAssign } from "../../src/config/users-assign.js";
import { lookupAssign, resolveLocalUser } from "../../src/config/users-lookup.js";
import { checkVirtualPassword, findVirtualUser, virtualCramSecret } from "../../src/config/virtual-users.js";
import { runCommand, tempDir, tool } from "./harness.js";

const ASSIGN = `=joe:joe:1001:1001:/home/joe:::
=Joe:second:1:1:/home/second:::
+list-:lists:1002:1002:/var/lists:-:l-:
+:catch:1003:1003:/var/catch:-::
.
`;

describe("users/assign → users/cdb", () => {
  const cdb = Cdb.fromBuffer(buildCdb(compileAssign(Buffer.from(ASSIGN))));

  it("writes qmail-newu's keys and data", () => {
    const records = compileAssign(Buffer.from(ASSIGN)).map(([k, v]) => [String(k), String(v)]);
    expect(records).toEqual([
      ["!joe\0", "joe\x001001\x001001\x00/home/joe\0\0"],
      ["!joe\0", "second\x001\x001\x00/home/second\0\0"],
      ["!list-", "lists\x001002\x001002\x00/var/lists\0-\0l-"],
      ["!", "catch\x001003\x001003\x00/var/catch\0-\0"],
      ["", "-"],
    ]);
  });

  it("looks up exact entries first (first line wins), then wild prefixes longest first", () => {
    expect(lookupAssign(cdb, "JOE")).toEqual({ source: "assign", user: "joe", uid: 1001, gid: 1001, home: "/home/joe", dash: "", ext: "" });
    expect(lookupAssign(cdb, "list-Announce")).toMatchObject({ user: "lists", dash: "-", ext: "l-Announce" });
    // "joe-x" has no exact entry and "!joe-"... is not a prefix key; the bare "!" catches it.
    expect(lookupAssign(cdb, "joe-x")).toMatchObject({ user: "catch", ext: "joe-x" });
  });

  it("returns undefined without a catch-all", () => {
    const small = Cdb.fromBuffer(buildCdb(compileAssign(Buffer.from("=a:a:1:1:/a:::\n.\n"))));
    expect(lookupAssign(small, "b")).toBeUndefined();
  });

  it("newu writes users/cdb that cdbdump reads", async () => {
    const root = await tempDir();
    await mkdir(join(root, "users"));
    await writeFile(join(root, "users", "assign"), ASSIGN);
    expect((await runCommand(newu, ["--root", root])).code).toBe(0);
    const dump = tool("cdbdump", [], { stdinFile: join(root, "users", "cdb") });
    expect(dump.stdout.split("\n")[0]).toBe("+5,25:!joe\0->joe\x001001\x001001\x00/home/joe\0\0");
    expect(lookupAssign(await readCdb(join(root, "users", "cdb")), "joe")?.home).toBe("/home/joe");
  });

  const broken: Array<[string, string]> = [
    ["=joe:joe:1:1:/h:::\n", 'users/assign: missing the final "." line'],
    ["=joe:joe:1:1:/h:::\n.\n=late:x:1:1:/h:::\n", 'users/assign:3: text after the final "." line'],
    ["joe:joe:1:1:/h:::\n.\n", "users/assign:1: expected a line starting with = or +"],
    ["\n.\n", "users/assign:1: expected a line starting with = or +"],
    ["=joe:joe:1:1:/h::\n.\n", "users/assign:1: expected =local:user:uid:gid:home:dash:ext:"],
    ["=joe:joe:x:1:/h:::\n.\n", 'users/assign:1: uid is not a number: "x"'],
    ["=ok:ok:1:1:/h:::\n+p:u:1:1:relative:::\n.\n", 'users/assign:2: home directory is not absolute: "relative"'],
  ];
  it.each(broken)("newu refuses %j", async (text, message) => {
    const root = await tempDir();
    await mkdir(join(root, "users"));
    await writeFile(join(root, "users", "assign"), text);
    const result = await runCommand(newu, ["--root", root]);
    expect(result.code).toBe(100);
    expect(result.stderr).toContain(`tsqmail newu: fatal: ${message}`);
    await expect(stat(join(root, "users", "cdb"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("qmail-getpw rules", () => {
  it("tries prefixes before each dash, longest first, needing uid ≠ 0 and an owned home", async () => {
    const base = await tempDir();
    const home = (name: string) => join(base, name);
    for (const name of ["ann", "annx", "bob"]) await mkdir(home(name));
    await chown(home("ann"), 2001, 2001);
    await chown(home("annx"), 9999, 9999); // not owned by its account
    const accounts = parsePasswd(
      [
        `root:x:0:0:root:${base}:/bin/sh`,
        `ann:x:2001:2001::${home("ann")}:/bin/sh`,
        `ann-list:x:2002:2002::${home("annx")}:/bin/sh`,
        `bob:x:0:0::${home("bob")}:/bin/sh`,
        `nohome:x:2003:2003::${home("missing")}:/bin/sh`,
        "+nisplus::::::",
      ].join("\n"),
    );
    expect(await getpw("Ann", accounts)).toEqual({ source: "passwd", user: "ann", uid: 2001, gid: 2001, home: home("ann"), dash: "", ext: "" });
    // ann-list's home is not its own, so the shorter prefix "ann" wins with the rest as extension.
    expect(await getpw("ann-list-x", accounts)).toMatchObject({ user: "ann", dash: "-", ext: "list-x" });
    expect(await getpw("bob", accounts)).toBeUndefined(); // uid 0
    expect(await getpw("nohome", accounts)).toBeUndefined();
    expect(await getpw("root", accounts)).toBeUndefined();
    expect(await getpw("annx", accounts)).toBeUndefined(); // "ann" is not a prefix ending before "-"
  });

  it("falls back to the alias user with the whole local part as extension", async () => {
    const root = await tempDir();
    const passwd = join(root, "passwd");
    await writeFile(passwd, "alias:x:7790:2108::/var/qmail/alias:/bin/false\n");
    expect(await resolveLocalUser(root, "Nobody-Here", { passwdFile: passwd })).toEqual({
      source: "alias",
      user: "alias",
      uid: 7790,
      gid: 2108,
      home: join(root, "alias"),
      dash: "-",
      ext: "Nobody-Here",
    });
  });
});

describe("virtual users", () => {
  it("adduser makes the maildir and keeps only a hash; passwords check", async () => {
    const root = await tempDir();
    const result = await runCommand(adduser, ["--root", root, "alice", "--password", "s3cret"]);
    expect(result.code).toBe(0);
    for (const sub of ["tmp", "new", "cur"]) expect((await stat(join(root, "home", "alice", "Maildir", sub))).isDirectory()).toBe(true);
    const file = await readFile(join(root, "users", "virtual"), "utf8");
    expect(file).toMatch(/^alice:scrypt\$16384\$8\$1\$[^:]+\$[^:]+:\n$/);
    expect(file).not.toContain("s3cret");
    expect((await stat(join(root, "users", "virtual"))).mode & 0o777).toBe(0o600);
    expect(await checkVirtualPassword(root, "alice", "s3cret")).toBe(true);
    expect(await checkVirtualPassword(root, "ALICE", "s3cret")).toBe(true);
    expect(await checkVirtualPassword(root, "alice", "wrong")).toBe(false);
    expect(await checkVirtualPassword(root, "bob", "s3cret")).toBe(false);
    expect(await virtualCramSecret(root, "alice")).toBeUndefined();
    expect(await resolveLocalUser(root, "alice", { passwdFile: "/dev/null" })).toMatchObject({ source: "virtual", home: join(root, "home", "alice") });

    const again = await runCommand(adduser, ["--root", root, "alice"]);
    expect(again.code).toBe(100);
    expect(again.stderr).toBe("tsqmail adduser: fatal: user alice exists\n");
  });

  it("keeps a CRAM-MD5 secret only when asked, in its own file", async () => {
    const root = await tempDir();
    expect((await runCommand(adduser, ["--root", root, "carol", "--password", "pw", "--cram"])).code).toBe(0);
    expect((await runCommand(adduser, ["--root", root, "dave"])).code).toBe(0);
    expect(await virtualCramSecret(root, "carol")).toBe("pw");
    expect(await readFile(join(root, "users", "virtual"), "utf8")).not.toContain(Buffer.from("pw").toString("base64") + "\n");
    expect(await findVirtualUser(root, "dave")).toMatchObject({ hash: "" });
    expect(await checkVirtualPassword(root, "dave", "")).toBe(false);
  });

  it("refuses bad names and usage", async () => {
    const root = await tempDir();
    expect((await runCommand(adduser, ["--root", root, "../evil"])).code).toBe(100);
    await expect(runCommand(adduser, ["--root", root])).rejects.toThrow("expected 1 argument");
  });

  it("verifyPassword rejects malformed hashes", async () => {
    const hash = await hashPassword("x");
    expect(await verifyPassword("x", hash)).toBe(true);
    expect(await verifyPassword("x", hash.replace("scrypt$", "md5$"))).toBe(false);
    expect(await verifyPassword("x", "scrypt$16384$8$1$AAAA$AAAA")).toBe(false);
  });
});

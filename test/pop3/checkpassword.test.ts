// pop3d with CHECKPASSWORD: a checkpassword-compatible program (a small python3 script speaking
// the real fd 3 interface) decides; the account comes from a passwd file (PASSWD). A root
// runtime serves another uid's Maildir (owned by that uid); uid 0 is refused even when the
// program accepts; a crashing program gets qmail-popup's `aack`; a symbolic link planted as
// the maildir is not followed.

import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { deliverMaildir } from "../../src/services/lspawn/maildir-delivery.js";
import { RawPop3, startPop3 } from "./pop3-harness.js";

/** Accepts password `letmein` for anyone, records what fd 3 carried, `crash` kills itself. */
const PROGRAM = `#!/usr/bin/env python3
import os, sys, signal
data = b""
while True:
    chunk = os.read(3, 512)
    if not chunk: break
    data += chunk
open(os.environ.get("RECORD", "/dev/null"), "ab").write(data + b"\\n")
login, password, stamp = data.split(b"\\0")[:3]
if password == b"crash": os.kill(os.getpid(), signal.SIGSEGV)
if password != b"letmein": sys.exit(1)
os.execvp(sys.argv[1], sys.argv[1:])
`;

const asRoot = process.getuid?.() === 0;

describe.skipIf(!asRoot)("pop3d with CHECKPASSWORD (as root)", () => {
  it("logs a passwd account in through the program, refuses uid 0, reports a crash, ignores a symlinked maildir", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsqmail-checkpassword-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const program = join(dir, "checkpassword.py");
    writeFileSync(program, PROGRAM);
    chmodSync(program, 0o755);
    const home = join(dir, "sysuser");
    const maildir = join(home, "Maildir");
    for (const sub of ["tmp", "new", "cur"]) mkdirSync(join(maildir, sub), { recursive: true });
    await deliverMaildir(`${maildir}/`, "", Buffer.from("Subject: system\n\nhi\n"));
    const [name] = readdirSync(join(maildir, "new"));
    const past = Date.now() / 1000 - 100;
    utimesSync(join(maildir, "new", name!), past, past);
    for (const path of [home, maildir, join(maildir, "new", name!), ...["tmp", "new", "cur"].map((sub) => join(maildir, sub))]) chownSync(path, 4321, 4322);
    // linker's home holds a symbolic link to sysuser's maildir.
    const linked = join(dir, "linked");
    mkdirSync(linked);
    symlinkSync(maildir, join(linked, "Maildir"));
    chownSync(linked, 4322, 4322);
    writeFileSync(join(dir, "passwd"), `root:x:0:0::/root:/bin/sh\nsysuser:x:4321:4322::${home}:/bin/sh\nlinker:x:4322:4322::${linked}:/bin/sh\n`);
    const record = join(dir, "record");
    const pop = await startPop3({ pop3d: { CHECKPASSWORD: `${program} /bin/true`, PASSWD: join(dir, "passwd"), RECORD: record } });
    const port = await pop.port("pop3d");

    const client = new RawPop3(port);
    const banner = await client.until(/\r\n/);
    await client.command("USER sysuser");
    expect(await client.command("PASS letmein")).toBe("+OK \r\n");
    expect(await client.command("RETR 1", /\r\n\.\r\n$/)).toBe("+OK \r\nSubject: system\r\n\r\nhi\r\n\r\n.\r\n");
    expect(await client.command("DELE 1")).toBe("+OK \r\n");
    expect(await client.command("QUIT")).toBe("+OK \r\n");
    await client.untilClosed();
    expect(readdirSync(join(maildir, "new"))).toEqual([]);
    expect(banner).toBe("+OK mx.example.test POP3 ready\r\n");
    expect(readFileSync(record, "latin1")).toMatch(/^sysuser\0letmein\0<\d+\.\d+\.\d+@mx\.example\.test>\0\n$/);

    for (const [user, password, reply] of [
      ["root", "letmein", "-ERR authorization failed\r\n"],
      ["nosuchuser", "letmein", "-ERR authorization failed\r\n"],
      ["sysuser", "wrong", "-ERR authorization failed\r\n"],
      ["sysuser", "crash", "-ERR aack, child crashed\r\n"],
      ["linker", "letmein", "-ERR this user has no $HOME/Maildir\r\n"],
    ] as const) {
      const other = new RawPop3(port);
      await other.until(/\r\n/);
      await other.command(`USER ${user}`);
      expect(await other.command(`PASS ${password}`)).toBe(reply);
      await other.untilClosed();
    }
    expect(pop.log("pop3d")).toContain("refused root: uid 0 may not read mail over POP3");
  }, 60_000);
});

// Delivery to a real system account, as qmail does it: the test (as root) creates the account with
// useradd, lspawn reads the machine's own /etc/passwd, and a runtime started as root delivers to
// the account's Maildir, an mbox and a program. Everything the deliveries leave in the home must
// belong to the account, and the program must run with its uid and gid. (local-delivery.test.ts
// covers the same rule with a passwd file of the test's own; this one goes through useradd,
// getpwnam's lowercase prefix rule and mbox creation.) The account is removed afterwards.

import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { inject, sendTestBed } from "../send/send-root.js";
import { waitFor } from "../runtime/test-root.js";
import { deliveryLines, makeLspawnRoot, makeMaildir, waitForMessages } from "./lspawn-root.js";

const bed = sendTestBed();
const asRoot = process.getuid?.() === 0;

let account: { name: string; home: string } | undefined;
afterEach(() => {
  if (account === undefined) return;
  execFileSync("userdel", [account.name]);
  rmSync(account.home, { recursive: true, force: true });
  account = undefined;
});

/** Every path under `dir` (itself included), with its owner. */
function owners(dir: string): { path: string; uid: number; gid: number }[] {
  const { uid, gid } = statSync(dir);
  const below = readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? owners(join(dir, entry.name)) : [{ path: join(dir, entry.name), uid: statSync(join(dir, entry.name)).uid, gid: statSync(join(dir, entry.name)).gid }],
  );
  return [{ path: dir, uid, gid }, ...below];
}

describe("a system account", () => {
  it.runIf(asRoot)("gets its Maildir, mbox and program deliveries as itself: every file it is left is its own", async () => {
    const name = `tsq${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
    // Outside the test root (mode 0700): the account must be able to reach its own home.
    const parent = mkdtempSync(join(tmpdir(), "tsqmail-account-"));
    chmodSync(parent, 0o755);
    const home = join(parent, name);
    execFileSync("useradd", ["--create-home", "--home-dir", home, "--user-group", "--shell", "/bin/sh", "--skel", "/dev/null", name]);
    account = { name, home: parent };
    const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }));
    const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }));
    expect(uid).toBeGreaterThan(0);

    makeMaildir(join(home, "Maildir"));
    writeFileSync(join(home, ".qmail-box"), "./mbox\n");
    writeFileSync(join(home, ".qmail-prog"), '|{ id -u; id -g; echo "$USER $HOME"; } > "$HOME/id.out"\n');
    for (const { path } of owners(home)) chownSync(path, uid, gid);

    const made = await makeLspawnRoot(bed, { PASSWD: "/etc/passwd" });
    await bed.start();
    // Mixed case: qmail-getpw lowercases the prefix before asking getpwnam.
    const upper = name.toUpperCase();
    await inject(made.queueDir, "sender@elsewhere.test", [`${name}@example.test`, `${upper}-Box@example.test`, `${upper}-prog@example.test`]);

    const [message] = await waitForMessages(join(home, "Maildir"), 1);
    expect(message).toMatch(new RegExp(`^Return-Path: <sender@elsewhere\\.test>\\nDelivered-To: ${name}@example\\.test\\n`));
    await waitFor(() => deliveryLines(made.root).filter((line) => line.includes(": success: ")).length === 3, 10_000, "three successes");
    expect(deliveryLines(made.root).filter((line) => line.includes(": success: did_0+0+1/"))).toHaveLength(1);
    expect(readFileSync(join(home, "mbox"), "utf8")).toMatch(new RegExp(`^From sender@elsewhere\\.test .*\\nReturn-Path: <sender@elsewhere\\.test>\\nDelivered-To: ${upper}-Box@example\\.test\\n`));
    expect(readFileSync(join(home, "id.out"), "utf8")).toBe(`${uid}\n${gid}\n${name} ${home}\n`);

    const files = owners(home);
    expect(files.map((file) => file.path)).toEqual(expect.arrayContaining([join(home, "mbox"), join(home, "id.out")]));
    expect(files.filter((file) => file.uid !== uid || file.gid !== gid)).toEqual([]);
  }, 60_000);
});

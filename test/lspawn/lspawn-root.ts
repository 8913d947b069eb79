// Roots for lspawn's end-to-end tests: control files, a real queue, the real send and lspawn
// services in workers, two virtual users (alice, bob), the alias directory and a passwd file of
// the test's own (lspawn's PASSWD), so no account of the machine running the tests is consulted.
// Helpers read what landed in maildirs and what send logged.

import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { addVirtualUser } from "../../src/config/virtual-users.js";
import { logText, waitFor } from "../runtime/test-root.js";
import { sendTestBed, type SendTestBed } from "../send/send-root.js";

export interface LspawnRoot {
  readonly root: string;
  readonly queueDir: string;
  home(user: string): string;
  /** Writes ~user/NAME with `text` (mode 0644 unless given). */
  dotQmail(user: string, name: string, text: string, mode?: number): void;
  /** Several .qmail files at once: name → text. */
  dotQmails(user: string, files: Readonly<Record<string, string>>): void;
}

export async function makeLspawnRoot(bed: SendTestBed, lspawnEnv: Readonly<Record<string, string>> = {}): Promise<LspawnRoot> {
  const made = await bed.makeRoot({ spawners: [] });
  const { root } = made;
  const lspawn = join(root, "service", "lspawn");
  mkdirSync(join(lspawn, "env"), { recursive: true });
  writeFileSync(join(lspawn, "module"), "lspawn\n");
  writeFileSync(join(root, "passwd"), "");
  for (const [key, value] of Object.entries({ PASSWD: join(root, "passwd"), ...lspawnEnv })) writeFileSync(join(lspawn, "env", key), `${value}\n`);
  mkdirSync(join(root, "alias"), { mode: 0o755 });
  for (const name of ["alice", "bob"]) await addVirtualUser(root, name, {});
  const home = (user: string): string => (user === "alias" ? join(root, "alias") : join(root, "home", user));
  const dotQmail = (user: string, name: string, text: string, mode = 0o644): void => {
    const path = join(home(user), name);
    writeFileSync(path, text);
    chmodSync(path, mode);
  };
  return {
    root,
    queueDir: made.queueDir,
    home,
    dotQmail,
    dotQmails(user, files) {
      for (const [name, text] of Object.entries(files)) dotQmail(user, name, text);
    },
  };
}

/** Makes a maildir (the directory with tmp/, new/ and cur/). */
export function makeMaildir(path: string): void {
  for (const sub of ["tmp", "new", "cur"]) mkdirSync(join(path, sub), { recursive: true });
}

/** The messages in a maildir's new/, as text. */
export function newMessages(maildir: string): string[] {
  const dir = join(maildir, "new");
  return existsSync(dir) ? readdirSync(dir).map((name) => readFileSync(join(dir, name), "utf8")) : [];
}

export async function waitForMessages(maildir: string, count: number, timeoutMs = 10_000): Promise<string[]> {
  await waitFor(() => newMessages(maildir).length >= count, timeoutMs, `${count} message(s) in ${maildir}`);
  return newMessages(maildir);
}

/** send's `delivery N: <outcome>: <report>` lines. */
export function deliveryLines(root: string): string[] {
  return logText(root, "send")
    .split("\n")
    .filter((line) => /delivery \d+: (success|deferral|failure):/.test(line));
}

export async function waitForDelivery(root: string, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  await waitFor(() => deliveryLines(root).some((line) => pattern.test(line)), timeoutMs, `a delivery line matching ${pattern}`);
  return deliveryLines(root).find((line) => pattern.test(line))!;
}

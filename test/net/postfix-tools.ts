// Debian's Postfix test clients and servers (qmqp-source, qmqp-sink, smtp-source, smtp-sink) for
// interoperability tests, without installing Postfix as a mail system: the package is fetched
// with `apt-get download` and unpacked with `dpkg -x` once per machine into the OS temp dir
// (unpacked beside it, then renamed into place, so parallel test files never see half a tree).
// The tools find their private libraries through LD_LIBRARY_PATH.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PostfixTool {
  readonly path: string;
  /** The environment the tool needs (LD_LIBRARY_PATH at Postfix's own libraries). */
  readonly env: NodeJS.ProcessEnv;
}

const UNPACKED = join(tmpdir(), "tsqmail-postfix-tools");

function unpackPostfix(): string {
  if (existsSync(UNPACKED)) return UNPACKED;
  const work = mkdtempSync(join(tmpdir(), "tsqmail-postfix-unpack-"));
  try {
    execFileSync("apt-get", ["download", "postfix"], { cwd: work, stdio: "pipe" });
    const deb = readdirSync(work).find((name) => name.startsWith("postfix_") && name.endsWith(".deb"));
    if (deb === undefined) throw new Error("apt-get download postfix produced no .deb");
    execFileSync("dpkg", ["-x", join(work, deb), join(work, "tree")], { stdio: "pipe" });
    try {
      renameSync(join(work, "tree"), UNPACKED);
    } catch (error) {
      // Another test file unpacked it first: use theirs.
      if (!existsSync(UNPACKED)) throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return UNPACKED;
}

/** A tool from /usr/sbin of Debian's postfix package, e.g. `qmqp-source`. */
export function postfixTool(name: string): PostfixTool {
  const tree = unpackPostfix();
  return { path: join(tree, "usr", "sbin", name), env: { ...process.env, LD_LIBRARY_PATH: join(tree, "usr", "lib", "postfix") } };
}

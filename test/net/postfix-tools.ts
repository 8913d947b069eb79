// Debian's Postfix test clients and servers (qmqp-source, qmqp-sink, smtp-source, smtp-sink) for
// interoperability tests, without installing Postfix as a mail system: the package is fetched
// with `apt-get download` and unpacked with `dpkg -x` once per machine into the OS temp dir
// (unpacked beside it, then renamed into place, so parallel test files never see half a tree).
// The tools find their private libraries through LD_LIBRARY_PATH. The benchmarks unpack the same
// way into their own cache (bench/peers/postfix.ts calls unpackPostfixInto).

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface PostfixTool {
  readonly path: string;
  /** The environment the tool needs (LD_LIBRARY_PATH at Postfix's own libraries). */
  readonly env: NodeJS.ProcessEnv;
}

const UNPACKED = join(tmpdir(), "tsqmail-postfix-tools");

/** Debian's postfix package unpacked at `target` (once: an existing tree is used as it is). */
export function unpackPostfixInto(target: string): string {
  if (existsSync(target)) return target;
  mkdirSync(dirname(target), { recursive: true });
  const work = mkdtempSync(`${target}-unpack-`);
  try {
    execFileSync("apt-get", ["download", "postfix"], { cwd: work, stdio: "pipe" });
    const deb = readdirSync(work).find((name) => name.startsWith("postfix_") && name.endsWith(".deb"));
    if (deb === undefined) throw new Error("apt-get download postfix produced no .deb");
    execFileSync("dpkg", ["-x", join(work, deb), join(work, "tree")], { stdio: "pipe" });
    try {
      renameSync(join(work, "tree"), target);
    } catch (error) {
      // Another process unpacked it first: use theirs.
      if (!existsSync(target)) throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return target;
}

/** A tool from /usr/sbin of Debian's postfix package, e.g. `qmqp-source`. */
export function postfixTool(name: string): PostfixTool {
  const tree = unpackPostfixInto(UNPACKED);
  return { path: join(tree, "usr", "sbin", name), env: { ...process.env, LD_LIBRARY_PATH: join(tree, "usr", "lib", "postfix") } };
}

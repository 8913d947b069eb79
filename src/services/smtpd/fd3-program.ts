// Runs a checkpassword-style program (the checkpassword interface, qmail-behaviour.md §7): the
// program reads NUL-separated fields from file descriptor 3 and answers with its exit code.
// smtpd uses it for AUTH against an existing qmail setup and for control/recipients checkers.
// The command line is split on whitespace, never given to a shell; a program that does not
// finish within the deadline is killed and counts as crashed.

import { siteChild } from "../../io/child.js";

export type Fd3Result = { readonly kind: "exit"; readonly code: number } | { readonly kind: "crashed" };

/** checkpassword reads at most this much from fd 3. */
const MAX_INPUT_BYTES = 512;

export function runFd3Program(site: string, commandLine: string, fields: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Fd3Result> {
  const [command, ...args] = commandLine.trim().split(/\s+/);
  const input = Buffer.from(fields.map((field) => `${field}\0`).join(""));
  if (command === undefined || command === "" || input.length > MAX_INPUT_BYTES) return Promise.resolve({ kind: "crashed" });
  return new Promise((resolve) => {
    let child;
    try {
      child = siteChild(site).spawn(command, args, { stdio: ["ignore", "ignore", "ignore", "pipe"], env });
    } catch {
      resolve({ kind: "crashed" });
      return;
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", () => {
      clearTimeout(timer);
      resolve({ kind: "crashed" });
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve(code === null ? { kind: "crashed" } : { kind: "exit", code });
    });
    const fd3 = child.stdio[3] as NodeJS.WritableStream | null;
    // A program that exits without reading its input closes the pipe: not our error.
    (fd3 as unknown as { on(event: "error", listener: () => void): void } | null)?.on("error", () => {});
    fd3?.end(input);
  });
}

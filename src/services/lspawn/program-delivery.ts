// `|command` lines (qmail-command(8)): `/bin/sh -c command` in the user's home, the message on
// stdin, the qmail variables in the environment. The command string is the .qmail line as the
// user wrote it; envelope data reaches the program only through the environment, never spliced
// into the command (security.md §1.8). stdout and stderr go into the delivery report.
// Exit 0 delivered; 99 delivered and no further lines; 100, 64, 65, 70, 76, 77, 78 and 112
// permanent; anything else, a crash or the time limit temporary. On the time limit the whole
// process group is killed, so a shell's children do not outlive the delivery.
// Runs: /bin/sh through siteChild("program").

import { siteChild } from "../../io/child.js";
import { hard, soft } from "./delivery-failure.js";

const child = siteChild("program");
const HARD_EXITS = new Set([100, 64, 65, 70, 76, 77, 78, 112]);
/** Output kept per program: a report is cut at 3000 bytes anyway. */
const OUTPUT_LIMIT = 4000;

export interface ProgramRun {
  readonly command: string;
  readonly home: string;
  readonly env: Readonly<Record<string, string>>;
  readonly message: Buffer;
  readonly timeoutMs: number;
}

export function runProgram(run: ProgramRun): Promise<{ output: string; stop: boolean }> {
  return new Promise((resolve, reject) => {
    let proc;
    try {
      proc = child.spawn("/bin/sh", ["-c", run.command], { cwd: run.home, env: run.env, stdio: ["pipe", "pipe", "pipe"], detached: true });
    } catch {
      reject(soft("Unable to run /bin/sh. (#4.3.0)"));
      return;
    }
    const chunks: Buffer[] = [];
    let kept = 0;
    const collect = (chunk: Buffer): void => {
      if (kept >= OUTPUT_LIMIT) return;
      chunks.push(chunk.subarray(0, OUTPUT_LIMIT - kept));
      kept += chunk.length;
    };
    proc.stdout!.on("data", collect);
    proc.stderr!.on("data", collect);
    // A program need not read its input; the broken pipe that follows is not a failure.
    proc.stdin!.on("error", () => undefined);
    proc.stdin!.end(run.message);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-proc.pid!, "SIGKILL");
      } catch {
        proc.kill("SIGKILL");
      }
    }, run.timeoutMs);
    proc.on("error", () => {
      clearTimeout(timer);
      reject(soft("Unable to run /bin/sh. (#4.3.0)"));
    });
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      const output = Buffer.concat(chunks).toString("utf8");
      if (timedOut) reject(soft(`${output}Timeout on program delivery. (#4.3.0)`));
      else if (signal !== null || code === null) reject(soft(`${output}Program crashed. (#4.3.0)`));
      else if (code === 0 || code === 99) resolve({ output, stop: code === 99 });
      else if (HARD_EXITS.has(code)) reject(hard(output));
      else reject(soft(output));
    });
  });
}

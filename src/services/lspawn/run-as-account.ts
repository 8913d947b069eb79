// Runs a piece of a delivery as a system account: a child Node process (account-child.ts) started
// with the account's uid and gid, fed the request and the message on stdin, answering one JSON
// line. Used only when the runtime runs as root (prepare.ts decides); the worker itself never
// writes into an account's home. From the TypeScript sources (tests) the child is booted with
// tsx, resolved from the package's own directory.
// Runs: node through siteChild("account").

import { fileURLToPath } from "node:url";
import type { DeliveryFailure } from "../../../machines/local-delivery.js";
import { ownModule, packageRoot, runningFromSource } from "../../../supervisors/project-files.js";
import { siteChild } from "../../io/child.js";
import type { AccountChildRequest } from "./account-child.js";
import { soft } from "./delivery-failure.js";

const child = siteChild("account");
const entry = fileURLToPath(ownModule("src/services/lspawn/account-child"));

export interface Account {
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

export function runAsAccount<T>(
  account: Account,
  request: AccountChildRequest,
  message: Buffer,
  env: Readonly<Record<string, string | undefined>>,
  timeoutMs: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let proc;
    try {
      // From the package root, where `--import tsx` resolves.
      const args = runningFromSource ? ["--import", "tsx", entry] : [entry];
      proc = child.spawn(process.execPath, args, { cwd: packageRoot, env: { ...env, HOME: account.home }, uid: account.uid, gid: account.gid, stdio: ["pipe", "pipe", "pipe"] });
    } catch {
      reject(soft("Unable to run qmail-local. (#4.3.0)"));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    proc.stdout!.on("data", (chunk: Buffer) => out.push(chunk));
    proc.stderr!.on("data", (chunk: Buffer) => err.push(chunk));
    proc.stdin!.on("error", () => undefined);
    proc.stdin!.end(Buffer.concat([Buffer.from(`${JSON.stringify(request)}\n`, "utf8"), message]));
    const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
    proc.on("error", () => {
      clearTimeout(timer);
      reject(soft("Unable to run qmail-local. (#4.3.0)"));
    });
    proc.on("close", () => {
      clearTimeout(timer);
      let answer: { ok?: T; failure?: DeliveryFailure } | undefined;
      try {
        answer = JSON.parse(Buffer.concat(out).toString("utf8")) as { ok?: T; failure?: DeliveryFailure };
      } catch {
        answer = undefined;
      }
      if (answer?.failure !== undefined) reject(answer.failure);
      else if (answer !== undefined && "ok" in answer) resolve(answer.ok as T);
      else reject(soft(`qmail-local crashed. ${Buffer.concat(err).toString("utf8").split("\n")[0] ?? ""} (#4.3.0)`));
    });
  });
}

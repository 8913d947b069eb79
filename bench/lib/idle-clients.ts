// Holds N idle SMTP connections to a server from a child process (lib/idle-client-child.ts), so
// that only the server's side of them is measured. The child's descriptor limit is raised to fit.

import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { IdleClientReport } from "./idle-client-child.js";

const CHILD = fileURLToPath(new URL("./idle-client-child.ts", import.meta.url));

export interface IdleClients extends IdleClientReport {
  /** Closes every connection and waits for the child to exit. */
  close(): Promise<void>;
}

/** Resolves once every connection has been greeted, failed or timed out. */
export function holdIdleConnections(port: number, count: number): Promise<IdleClients> {
  // sh raises the descriptor limit (root may) and execs node with fork's IPC channel intact.
  const child = fork(CHILD, [String(port), String(count)], {
    execPath: "sh",
    execArgv: ["-c", `ulimit -n ${count + 1024} && exec "$0" "$@"`, process.execPath, "--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    child.once("exit", (code, signal) => reject(new Error(`idle clients exited (${signal ?? `exit ${code}`}) before reporting`)));
    child.once("message", (report) => {
      resolve({
        ...(report as IdleClientReport),
        close: async () => {
          if (child.connected) child.send("close");
          await exited;
        },
      });
    });
  });
}

// The client side of the memory scenario, in a process of its own so its sockets are not counted
// with the server's: `node --import tsx idle-client-child.ts PORT COUNT` opens COUNT connections to
// 127.0.0.1:PORT (at most OPENING at a time, so the server's listen queue never overflows), waits
// for each one's 220 greeting, tells its parent over IPC how many were greeted, and then holds them
// all, idle, until the parent says "close" (or goes away).

import { connect, type Socket } from "node:net";

const OPENING = 100;
const GREETING_MS = 30_000;

export interface IdleClientReport {
  readonly greeted: number;
  /** Refused, reset, closed, or answered with something other than 220. */
  readonly failed: number;
  /** No greeting within GREETING_MS (e.g. queued behind a process limit). */
  readonly silent: number;
  readonly firstError: string | undefined;
}

const [portText, countText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
if (process.send === undefined || !Number.isInteger(port) || !Number.isInteger(count) || count < 1) {
  throw new Error("usage: node --import tsx idle-client-child.ts PORT COUNT (with an IPC channel)");
}

const held: Socket[] = [];
let greeted = 0;
let failed = 0;
let silent = 0;
let firstError: string | undefined;

function open(): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    held.push(socket);
    let settled = false;
    const settle = (outcome: "greeted" | "failed" | "silent", why?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (outcome === "greeted") greeted++;
      else if (outcome === "failed") failed++;
      else silent++;
      if (why !== undefined) firstError ??= why;
      resolve();
    };
    const timer = setTimeout(() => settle("silent", "no greeting"), GREETING_MS);
    socket.once("data", (data) => {
      const text = data.toString("latin1");
      settle(text.startsWith("220") ? "greeted" : "failed", text.startsWith("220") ? undefined : text.trim());
    });
    socket.once("error", (error) => settle("failed", error.message));
    socket.once("close", () => settle("failed", "closed"));
  });
}

let next = 0;
const opener = async (): Promise<void> => {
  while (next < count) {
    next++;
    await open();
  }
};
await Promise.all(Array.from({ length: Math.min(OPENING, count) }, opener));
const report: IdleClientReport = { greeted, failed, silent, firstError };
process.send(report);

const closeAll = (): void => {
  for (const socket of held) socket.destroy();
  process.exit(0);
};
process.on("message", (message) => {
  if (message === "close") closeAll();
});
process.on("disconnect", closeAll);

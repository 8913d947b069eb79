// Loopback ports for the systems under test: a free one to listen on, and waits until a server
// answers its SMTP greeting there (a listening socket alone can precede a working server).

import { connect, createServer } from "node:net";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Whether a 220 greeting comes from 127.0.0.1:port within timeoutMs (false on refusal, close or silence). */
export function greets(port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.once("data", (data) => done(data.toString("latin1").startsWith("220")));
  });
}

/** Resolves once a 220 greeting comes from 127.0.0.1:port; rejects after timeoutMs. */
export async function waitForGreeting(port: number, timeoutMs = 20_000, what = `SMTP on port ${port}`): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await greets(port))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Milliseconds from `since` (a performance.now()) to a 220 greeting, tried every 10 ms; throws after timeoutMs. */
export async function untilGreeted(port: number, since: number, timeoutMs: number): Promise<number> {
  while (!(await greets(port, 1000))) {
    if (performance.now() - since > timeoutMs) throw new Error(`no greeting within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - since;
}

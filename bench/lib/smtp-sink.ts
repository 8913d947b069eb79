// Postfix's smtp-sink as the remote end of relay benchmarks: accepts every message on a loopback
// port and throws it away. As root it must be told whom to run as (-u); nobody is enough.

import { spawn } from "node:child_process";
import type { PostfixTools } from "../peers/postfix.js";
import { waitForGreeting } from "./ports.js";

export interface Sink {
  readonly port: number;
  stop(): Promise<void>;
}

/** `backlog` is the listen queue: relays open many connections at once. */
export async function startSink(tools: PostfixTools, port: number, backlog = 256): Promise<Sink> {
  const user = process.getuid?.() === 0 ? ["-u", "nobody"] : [];
  const child = spawn(tools.smtpSink, [...user, `127.0.0.1:${port}`, String(backlog)], { env: tools.env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  const died = exited.then(() => {
    throw new Error(`smtp-sink exited: ${stderr.trim()}`);
  });
  died.catch(() => {});
  try {
    await Promise.race([waitForGreeting(port, 10_000, `smtp-sink on port ${port}`), died]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, stop };
}

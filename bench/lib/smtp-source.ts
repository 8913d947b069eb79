// Drives a server with Postfix's smtp-source and times it. Each message is its own SMTP session
// (smtp-source's default: connect, EHLO, MAIL, RCPT, DATA, QUIT), as mail from many senders
// arrives. Run asynchronously: the bench process may host the tsqmail runtime under test, whose
// supervisor must keep its event loop.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { PostfixTools } from "../peers/postfix.js";

const run = promisify(execFile);

export interface SourceLoad {
  readonly port: number;
  readonly sessions: number;
  readonly messages: number;
  readonly bytes: number;
  readonly sender: string;
  readonly recipient: string;
}

/** Messages per second for one smtp-source run; throws (with smtp-source's own words) if any message failed. */
export async function smtpSourceRate(tools: PostfixTools, load: SourceLoad, timeoutMs = 120_000): Promise<number> {
  const args = ["-s", String(load.sessions), "-m", String(load.messages), "-l", String(load.bytes), "-f", load.sender, "-t", load.recipient, `127.0.0.1:${load.port}`];
  const started = performance.now();
  try {
    await run(tools.smtpSource, args, { env: tools.env, timeout: timeoutMs });
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(`smtp-source ${args.join(" ")}: ${stderr?.trim() || message}`);
  }
  return load.messages / ((performance.now() - started) / 1000);
}

// Delivery throughput: smtp-source sends a batch, and the clock runs until the system's queue is
// empty again, i.e. every message of the batch has reached its Maildir or the remote sink.

import type { PostfixTools } from "../peers/postfix.js";
import { smtpSourceRate, type SourceLoad } from "./smtp-source.js";

const POLL_MS = 25;

/** Messages per second from the first connection to an empty queue; throws after timeoutMs. */
export async function drainedRate(tools: PostfixTools, load: SourceLoad, queued: () => Promise<number>, timeoutMs = 120_000): Promise<number> {
  const started = performance.now();
  await smtpSourceRate(tools, load, timeoutMs);
  for (;;) {
    const left = await queued();
    const elapsed = performance.now() - started;
    if (left === 0) return load.messages / (elapsed / 1000);
    if (elapsed > timeoutMs) throw new Error(`${left} messages still queued after ${Math.round(elapsed / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

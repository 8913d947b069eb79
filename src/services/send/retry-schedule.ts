// qmail-send's retry schedule and queue lifetime. A channel's next try is
// birth + (isqrt(now − birth) + chanskip)² seconds, chanskip being 10 for local and 20 for remote,
// so local retries come about 100, 400, 900 … s after birth and remote ones 400, 1600, 3600 … s.
// A message older than queuelifetime when a pass starts is "dying": its temporary failures become
// permanent. Times are epoch milliseconds, computed in whole seconds as qmail does. Pure.

import type { Channel } from "../../../machines/queue-entry.js";

const CHANSKIP: Readonly<Record<Channel, number>> = { local: 10, remote: 20 };

/** qmail appends this line to the report when a dying message's delivery fails temporarily. */
export const TOO_LONG_IN_QUEUE = "I'm not going to try again; this message has been in the queue too long.\n";

export function nextTryAt(channel: Channel, birthMs: number, nowMs: number): number {
  const birth = Math.floor(birthMs / 1000);
  const now = Math.floor(nowMs / 1000);
  const age = birth > now ? 0 : Math.floor(Math.sqrt(now - birth));
  return (birth + (age + CHANSKIP[channel]) ** 2) * 1000;
}

export function isDying(birthMs: number, nowMs: number, queuelifetimeSeconds: number): boolean {
  return Math.floor(nowMs / 1000) > Math.floor(birthMs / 1000) + queuelifetimeSeconds;
}

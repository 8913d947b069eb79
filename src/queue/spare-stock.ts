// An injector's stock of the send service's spare inodes (spare-files.ts). A message delivered at
// its first try leaves send its todo/N, whose inode would be freed if nobody wanted it; an
// injector in the runtime (smtpd) makes each intd/N of one instead of a new file. So the queue's
// files of a delivered message cost no inode allocation and no free, beyond its mess file's: on
// ext4 without a journal each free slows every create of the next minute, and on a disk mounted
// with `discard` the free waits for the trim (docs/queue.md, "Spare files"). The stock asks send
// for more when it runs low, at most once a second, so an empty answer or a send that is not
// running costs one message a second. Spares are the runtime's own files: never use this stock in
// an injector run by someone else. A stock that dies with its worker strands what it held in
// pid/, until the next life of send sweeps them.

import { clock } from "../../supervisors/clock.js";

/** Spares asked for at most: a second or two of injections at several hundred a second. */
export const STOCK_CAPACITY = 256;
/** Below this, the stock asks for more. */
const LOW_WATER = 64;
const ASK_EVERY_MS = 1000;

export class SpareStock {
  private readonly paths: string[] = [];
  private askedAt = -Infinity;

  /** `ask(count)` requests up to `count` spares from the send service. */
  constructor(private readonly ask: (count: number) => void) {}

  /** A spare's path, or undefined when none is at hand; asks for more when running low. */
  take(): string | undefined {
    const path = this.paths.pop();
    if (this.paths.length < LOW_WATER && clock.now() - this.askedAt >= ASK_EVERY_MS) {
      this.askedAt = clock.now();
      this.ask(STOCK_CAPACITY - this.paths.length);
    }
    return path;
  }

  /** Send's answer: paths that are now this stock's alone (all kept: dropping one would strand it). */
  receive(paths: readonly string[]): void {
    this.paths.push(...paths);
  }
}

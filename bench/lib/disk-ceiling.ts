// The disk's ceiling for any durable queue, as a contender beside the servers: per message,
// create + write + fsync a file, link it into a second directory and fsync that directory — the
// least qmail's commit protocol must do, with no SMTP, no parsing and no process hops. Runs in this
// process with `writers` concurrent writers (as many as the scenario's SMTP sessions).
//
// All slices write into one pair of directories, as a server's queue stays in place, and the files
// stay until the bench ends (`remove`). On ext4 without a journal (this machine's root), creating a
// file scans past every inode of its block group deleted in the last seconds to minutes, so
// removing a slice's thousands of files would slow the creates of the slices after it, whichever
// system's they are, by an amount that depends on the order of turns.

import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { boundedLoad } from "./bounded-load.js";

async function syncDir(path: string): Promise<void> {
  const dir = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export interface DiskCeiling {
  /** Messages per second for `messages` commits of `bytes` each, or as many as fit in `seconds`. */
  rate(writers: number, messages: number, bytes: number, seconds?: number): Promise<number>;
  remove(): Promise<void>;
}

export async function openDiskCeiling(): Promise<DiskCeiling> {
  const base = await mkdtemp(join(tmpdir(), "tsqmail-bench-ceiling-"));
  await mkdir(join(base, "new"));
  await mkdir(join(base, "cur"));
  let named = 0;
  return {
    rate(writers, messages, bytes, seconds = Infinity) {
      const body = randomBytes(bytes);
      return boundedLoad(writers, messages, seconds, async () => {
        const name = String(++named);
        const created = join(base, "new", name);
        const fh = await open(created, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
        try {
          await fh.write(body);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await link(created, join(base, "cur", name));
        await syncDir(join(base, "cur"));
      });
    },
    remove: () => rm(base, { recursive: true, force: true }),
  };
}

// The disk's ceiling for any durable queue, as a contender beside the servers: per message,
// create + write + fsync a file, link it into a second directory and fsync that directory — the
// least qmail's commit protocol must do, with no SMTP, no parsing and no process hops. Runs in this
// process with `writers` concurrent writers (as many as the scenario's SMTP sessions).

import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

async function syncDir(path: string): Promise<void> {
  const dir = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Messages per second for `messages` commits of `bytes` each, or as many as fit in `seconds`. */
export async function diskCeilingRate(writers: number, messages: number, bytes: number, seconds = Infinity): Promise<number> {
  const base = await mkdtemp(join(tmpdir(), "tsqmail-bench-ceiling-"));
  const body = randomBytes(bytes);
  try {
    await mkdir(join(base, "new"));
    await mkdir(join(base, "cur"));
    let next = 0;
    let done = 0;
    const started = performance.now();
    const deadline = started + seconds * 1000;
    const writer = async (): Promise<void> => {
      while (next < messages && performance.now() < deadline) {
        const name = String(next++);
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
        done++;
      }
    };
    await Promise.all(Array.from({ length: writers }, writer));
    return done / ((performance.now() - started) / 1000);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

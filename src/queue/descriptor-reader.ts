// Reads an inherited file descriptor as a byte stream — for qmail-queue's envelope, which arrives
// on fd 1. Node offers no stream for reading fd 1, and once anything has touched process.stdout
// the descriptor is non-blocking (libuv sets O_NONBLOCK on pipes), so a read that finds nothing
// yet fails with EAGAIN: then wait a little and try again, backing off to at most 50 ms.

import { read } from "node:fs";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";

const readAsync = promisify(read);
const CHUNK_BYTES = 16 * 1024;
const FIRST_WAIT_MS = 1;
const LONGEST_WAIT_MS = 50;

export async function* readDescriptor(fd: number): AsyncGenerator<Uint8Array> {
  let wait = FIRST_WAIT_MS;
  for (;;) {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let bytesRead: number;
    try {
      ({ bytesRead } = await readAsync(fd, buffer, 0, CHUNK_BYTES, null));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
      await sleep(wait);
      wait = Math.min(wait * 2, LONGEST_WAIT_MS);
      continue;
    }
    if (bytesRead === 0) return;
    wait = FIRST_WAIT_MS;
    yield buffer.subarray(0, bytesRead);
  }
}

// Copies a message into an open queue file: a head (qmail-queue's Received line) and then the
// body as it streams in, through a fixed 64 KiB buffer, so memory stays bounded whatever the
// message size and small network chunks do not each become a write(2). Tells a failure to read
// the body (qmail-queue exit 54) from a failure to write the file (53).

import type { FileHandle, SiteFs } from "../io/fs.js";

const BUFFER_BYTES = 64 * 1024;

export type CopyOutcome = "copied" | "read-error" | "write-error";

export async function copyMessage(
  fs: SiteFs,
  fh: FileHandle,
  head: Uint8Array,
  body: AsyncIterable<Uint8Array>,
): Promise<CopyOutcome> {
  const buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  let filled = 0;
  let writeFailed = false;

  const flush = async (): Promise<void> => {
    if (filled === 0) return;
    try {
      await fs.write(fh, buffer.subarray(0, filled));
    } catch (error) {
      writeFailed = true;
      throw error;
    }
    filled = 0;
  };

  const put = async (bytes: Uint8Array): Promise<void> => {
    let offset = 0;
    while (offset < bytes.length) {
      const n = Math.min(bytes.length - offset, BUFFER_BYTES - filled);
      buffer.set(bytes.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === BUFFER_BYTES) await flush();
    }
  };

  try {
    await put(head);
    for await (const chunk of body) await put(chunk);
    await flush();
    return "copied";
  } catch {
    return writeFailed ? "write-error" : "read-error";
  }
}

// Atomic file replacement, the qmail way: write a temporary file beside the target, fsync it,
// rename it over the target, then fsync the directory so the rename itself survives a crash.
// Readers see either the old file or the new one, never a half-written one.
// Writes: `tmp` and `target`, through the file-system site given (default "config").

import { dirname } from "node:path";
import { siteFs, type SiteFs } from "../io/fs.js";

export async function writeFileAtomic(
  target: string,
  tmp: string,
  bytes: Uint8Array,
  mode = 0o644,
  fs: SiteFs = siteFs("config"),
): Promise<void> {
  const fh = await fs.open(tmp, "w", mode);
  try {
    await fs.write(fh, bytes);
    await fs.sync(fh);
  } finally {
    await fs.close(fh);
  }
  await fs.rename(tmp, target);
  await fs.syncDir(dirname(target));
}

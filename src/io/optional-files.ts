// Files that may legitimately be absent: a queue message's info, channel or bounce file comes and
// goes with its state, and a cleanup that was interrupted may already have removed some. These
// helpers turn ENOENT into an answer instead of an error; every other error still throws.

import type { Stats } from "node:fs";
import type { SiteFs } from "./fs.js";

export function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === "ENOENT";
}

/** The operation's result, or undefined when it failed because the file is not there. */
async function ifPresent<T>(operation: Promise<T>): Promise<T | undefined> {
  try {
    return await operation;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** True when the file was there and is now unlinked, false when it was already gone. */
export async function unlinkIfPresent(fs: SiteFs, path: string): Promise<boolean> {
  return (await ifPresent(fs.unlink(path).then(() => true))) ?? false;
}

export function lstatIfPresent(fs: SiteFs, path: string): Promise<Stats | undefined> {
  return ifPresent(fs.lstat(path));
}

export function readIfPresent(fs: SiteFs, path: string): Promise<Buffer | undefined> {
  return ifPresent(fs.readFile(path));
}

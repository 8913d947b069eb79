// Maildir++ quota (Courier's README.maildirquota): a maildir with a `maildirsize` file has a quota.
// Its first line is the limit, `<bytes>S,<count>C` (either part may be left out); each further
// line is `<bytes> <count>`, one per change, and their sums are the maildir's use. A delivery
// appends `<size> 1`. The file is recounted from the messages themselves (new/ and cur/ of the
// maildir and of its `.Folder` subfolders, sizes from `,S=<size>` in the name or else from stat)
// when it has grown past 5120 bytes, or when it says the delivery would go over quota and it is
// older than 15 minutes (it may have missed deletions made by a reader that does not update it).
// The recount is written to tmp/ and renamed over maildirsize, so a reader never sees half of it.
// The quota is set by writing the first line: `tsqmail maildirmake -q 10000000S,1000C DIR`.
// Reads and writes: DIR/maildirsize, DIR/tmp/, the folders' message names, through siteFs("maildir").

import { constants } from "node:fs";
import { join } from "node:path";
import { clock } from "../../../supervisors/clock.js";
import { siteFs } from "../../io/fs.js";

const fs = siteFs("maildir");
export const QUOTA_FILE = "maildirsize";
const RECOUNT_SIZE = 5120;
const RECOUNT_AGE_MS = 15 * 60_000;
const APPEND = constants.O_WRONLY | constants.O_APPEND;

export interface QuotaLimit {
  readonly bytes?: number;
  readonly messages?: number;
}

export interface QuotaUse {
  readonly bytes: number;
  readonly messages: number;
}

/** A maildirsize that cannot be read as Maildir++: names the file and line. */
export class QuotaFileError extends Error {}

/** `10000000S,1000C`, `5000S`, `100C` → the limit; undefined when the text is no quota definition. */
export function parseQuotaLimit(text: string): QuotaLimit | undefined {
  let bytes: number | undefined;
  let messages: number | undefined;
  for (const part of text.split(",")) {
    const m = /^([0-9]+)([SC])$/.exec(part);
    if (m === null) return undefined;
    const value = Number(m[1]);
    if (!Number.isSafeInteger(value)) return undefined;
    if (m[2] === "S" && bytes === undefined) bytes = value;
    else if (m[2] === "C" && messages === undefined) messages = value;
    else return undefined;
  }
  return { ...(bytes === undefined ? {} : { bytes }), ...(messages === undefined ? {} : { messages }) };
}

export function formatQuotaLimit(limit: QuotaLimit): string {
  return [limit.bytes === undefined ? [] : [`${limit.bytes}S`], limit.messages === undefined ? [] : [`${limit.messages}C`]].flat().join(",");
}

interface QuotaFile {
  readonly limit: QuotaLimit;
  readonly use: QuotaUse;
  readonly size: number;
  readonly mtimeMs: number;
}

/** The maildir's maildirsize, or undefined when there is none (no quota). */
async function readQuotaFile(dir: string): Promise<QuotaFile | undefined> {
  const path = join(dir, QUOTA_FILE);
  let bytes: Buffer;
  let mtimeMs: number;
  try {
    [bytes, mtimeMs] = await Promise.all([fs.readFile(path), fs.stat(path).then((s) => s.mtimeMs)]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const lines = bytes.toString("latin1").split("\n");
  const limit = parseQuotaLimit(lines[0] ?? "");
  if (limit === undefined) throw new QuotaFileError(`${path}:1: not a quota definition (like 10000000S,1000C): ${JSON.stringify(lines[0])}`);
  let use = { bytes: 0, messages: 0 };
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === "") return;
    const m = /^\s*(-?[0-9]+)\s+(-?[0-9]+)\s*$/.exec(line);
    if (m === null) throw new QuotaFileError(`${path}:${i + 2}: expected "<bytes> <count>": ${JSON.stringify(line)}`);
    use = { bytes: use.bytes + Number(m[1]), messages: use.messages + Number(m[2]) };
  });
  return { limit, use, size: bytes.length, mtimeMs };
}

/** The size a message file has, from Maildir++'s `,S=<size>` in its name when present. */
async function messageSize(path: string, name: string): Promise<number> {
  const m = /,S=([0-9]+)/.exec(name);
  if (m !== null) return Number(m[1]);
  return fs.stat(path).then((s) => s.size, () => 0);
}

/** Counts every message in the maildir and its folders and rewrites maildirsize with `limit` and the total (also how a quota is set). */
export async function recountQuota(dir: string, limit: QuotaLimit, tmpName: string): Promise<QuotaUse> {
  const folders = [dir, ...(await fs.readdir(dir)).filter((n) => n.startsWith(".") && n !== "." && n !== "..").map((n) => join(dir, n))];
  let bytes = 0;
  let messages = 0;
  for (const folder of folders) {
    for (const sub of ["new", "cur"]) {
      const names = await fs.readdir(join(folder, sub)).catch(() => [] as string[]);
      for (const name of names) {
        if (name.startsWith(".")) continue;
        bytes += await messageSize(join(folder, sub, name), name);
        messages += 1;
      }
    }
  }
  const tmp = join(dir, "tmp", tmpName);
  const fh = await fs.open(tmp, "w", 0o600);
  try {
    await fs.write(fh, Buffer.from(`${formatQuotaLimit(limit)}\n${bytes} ${messages}\n`, "latin1"));
    await fs.sync(fh);
  } finally {
    await fs.close(fh);
  }
  await fs.rename(tmp, join(dir, QUOTA_FILE));
  return { bytes, messages };
}

const over = (limit: QuotaLimit, use: QuotaUse, size: number): boolean =>
  (limit.bytes !== undefined && use.bytes + size > limit.bytes) || (limit.messages !== undefined && use.messages + 1 > limit.messages);

/**
 * Whether a message of `size` bytes fits: "none" when the maildir has no quota, else "fits" or
 * "over", recounting first when the file calls for it. `tmpName` is a fresh unique name for the
 * recount's temporary file.
 */
export async function checkQuota(dir: string, size: number, tmpName: string): Promise<"none" | "fits" | "over"> {
  const file = await readQuotaFile(dir);
  if (file === undefined) return "none";
  let use = file.use;
  if (file.size >= RECOUNT_SIZE) use = await recountQuota(dir, file.limit, tmpName);
  else if (over(file.limit, use, size) && clock.now() - file.mtimeMs > RECOUNT_AGE_MS) use = await recountQuota(dir, file.limit, tmpName);
  return over(file.limit, use, size) ? "over" : "fits";
}

/** Adds one delivered message of `size` bytes to maildirsize (one append, so writers do not mix). */
export async function addToQuota(dir: string, size: number): Promise<void> {
  const fh = await fs.open(join(dir, QUOTA_FILE), APPEND);
  try {
    await fs.write(fh, Buffer.from(`${size} 1\n`, "latin1"));
  } finally {
    await fs.close(fh);
  }
}

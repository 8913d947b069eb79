// Maildir delivery (qmail-local's maildir_child, maildir(5)): the message, after Return-Path and
// Delivered-To, is written to tmp/NAME, fsync'd, linked to new/NAME, new/ fsync'd so the entry
// survives a crash, and tmp/NAME removed. A reader sees a message in new/ only when it is whole.
// One Node process makes many deliveries at once, so the pid alone (qmail's choice) does not make
// a name unique: NAME is `<seconds>.M<usec>P<pid>Q<counter>R<random>.<host>`, with `/` and `:` in
// the host name escaped as \057 and \072. An existing tmp/NAME (EEXIST) means another writer had
// the same name: pick a new one, at most three times. Every failure is soft. The fsync of new/ is
// the queue's (queue/dir-sync.ts): deliveries into one maildir at once share an fsync that began
// after their link, on a handle of new/ kept open while deliveries keep coming.
// Quota: when the caller asks for it (deliveries the runtime writes itself: virtual users) and the
// maildir has a Maildir++ `maildirsize` (maildir-quota.ts), a message that would pass the quota is
// refused — soft by default, so it waits in the queue for the user to make room, hard (a bounce)
// when control/maildirquotabounce is 1 — and a delivered one is named with `,S=<size>` and added
// to maildirsize. Whether there is a maildirsize at all comes from a listing of the maildir, kept
// while the maildir's top directory is unchanged (config/file-cache.ts): deliveries change only
// tmp/ and new/, and making or recounting maildirsize changes the top.
// Writes: the maildir's tmp/, new/ and maildirsize through siteFs("maildir").

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import { clock } from "../../../supervisors/clock.js";
import { DirectoryCache, mayHold, type Listing } from "../../config/file-cache.js";
import { O_EXCL_CREATE, siteFs, type FileHandle } from "../../io/fs.js";
import { createDirSyncer } from "../../queue/dir-sync.js";
import { hard, soft } from "./delivery-failure.js";
import { addToQuota, checkQuota, QUOTA_FILE, QuotaFileError } from "./maildir-quota.js";

/** What a delivery over quota is: deferred (soft) or bounced (hard). */
export type OverQuota = "soft" | "hard";

const fs = siteFs("maildir");
const host = hostname().replaceAll("/", "\\057").replaceAll(":", "\\072");
const pid = process.pid;
const maildirs = new DirectoryCache(fs);
const dirSync = createDirSyncer(fs);
let counter = 0;
// Random bytes for names, drawn 4 KB at a time (one call to the generator per 1 024 names).
let pool = Buffer.alloc(0);
let poolAt = 0;

function random4(): string {
  if (poolAt + 4 > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  poolAt += 4;
  return pool.toString("hex", poolAt - 4, poolAt);
}

export function maildirName(ms: number): string {
  counter += 1;
  const seconds = Math.floor(ms / 1000);
  const usec = (ms % 1000) * 1000;
  return `${seconds}.M${usec}P${pid}Q${counter}R${random4()}.${host}`;
}

async function createTmp(dir: string, suffix: string): Promise<{ name: string; fh: FileHandle }> {
  for (let attempt = 0; ; attempt++) {
    const name = maildirName(clock.now()) + suffix;
    try {
      return { name, fh: await fs.open(join(dir, "tmp", name), O_EXCL_CREATE, 0o600) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt === 2) throw error;
    }
  }
}

/** soft or hard per `overQuota`, or an error reading maildirsize (always soft); "none"/"fits" otherwise. */
async function quotaVerdict(dir: string, size: number, overQuota: OverQuota): Promise<"none" | "fits"> {
  let verdict;
  try {
    verdict = await checkQuota(dir, size, maildirName(clock.now()));
  } catch (error) {
    if (error instanceof QuotaFileError) throw soft(`Unable to read quota: ${error.message}. (#4.3.0)`);
    throw soft("Temporary error on maildir delivery. (#4.3.0)");
  }
  if (verdict !== "over") return verdict;
  throw overQuota === "hard" ? hard("Mailbox is over quota. (#5.2.2)") : soft("Mailbox is over quota. (#4.2.2)");
}

/** `listings`: where the maildir's names are kept (tests pass their own). */
export async function deliverMaildir(dir: string, head: string, message: Buffer, overQuota?: OverQuota, listings = maildirs): Promise<void> {
  let listing: Listing | undefined;
  try {
    // The names matter only for a quota (is there a maildirsize?); without one a stat is enough.
    listing = overQuota === undefined ? undefined : await listings.list(dir);
    if (!(listing?.stats ?? (await fs.stat(dir))).isDirectory()) throw new Error("not a directory");
  } catch {
    throw soft("Unable to chdir to maildir. (#4.2.1)");
  }
  const content = Buffer.concat([Buffer.from(head, "utf8"), message]);
  const quota = overQuota === undefined || listing === undefined || !mayHold(listing, QUOTA_FILE) ? "none" : await quotaVerdict(dir, content.length, overQuota);
  let tmpPath: string | undefined;
  try {
    const { name, fh } = await createTmp(dir, quota === "none" ? "" : `,S=${content.length}`);
    tmpPath = join(dir, "tmp", name);
    try {
      await fs.write(fh, content);
      await fs.sync(fh);
    } finally {
      await fs.close(fh);
    }
    await fs.link(tmpPath, join(dir, "new", name));
    await dirSync.durable(dirSync.changed(join(dir, "new")));
  } catch {
    throw soft("Temporary error on maildir delivery. (#4.3.0)");
  } finally {
    // Delivered or not, the tmp name is not needed any more.
    if (tmpPath !== undefined) await fs.unlink(tmpPath).catch(() => undefined);
  }
  // The message is delivered: failing now would deliver it twice. A lost line is repaired by the
  // next recount.
  if (quota === "fits") await addToQuota(dir, content.length).catch(() => undefined);
}

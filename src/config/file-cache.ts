// Cached reads of files and directories that rarely change — users/cdb, users/virtual, the passwd
// file, .qmail files, a home's or a maildir's names — for lspawn, which would otherwise read them
// for every delivery, and for logins (virtual-users.ts). A stat is cheaper than open + read + close, and a listing answers "is there
// a .qmail-x?" without a failing open (each failing fs call builds an exception): so a file is
// re-read, a directory re-listed, only when a stat shows it is no longer what was read — device,
// inode, size, mode, mtime or ctime differ. A change is therefore seen by the very next lookup.
// Timestamps are coarse (a kernel tick; a second or two on some file systems), and a change made
// within the tick of our stat could leave every field as it was. So, like git's "racily clean"
// index entries, nothing is kept until its ctime lies SETTLE_MS before the stat: a file changed
// moments ago is read afresh each time. ctime, unlike mtime, cannot be set back (utimes, cp -p,
// tar), and the comparison uses the system's clock, not tsqmail's (chaos runs jump that one).
// Lookups of one path that overlap share one stat: a lookup that starts while a stat of the path
// is in flight takes its result (and the read or listing made after it) instead of asking again.
// Many deliveries at once look at the same users files, home and maildir, and those stats were
// lspawn's largest cost. The stat is forgotten as it completes, before any of its takers go on,
// so a lookup that starts after another finished stats afresh: a change is still seen by the
// next lookup that starts after it, give or take one stat's flight. A time window of reuse
// would hide a change from lookups that start well after it.
// Reads: through the caller's SiteFs.

import type { Stats } from "node:fs";
import type { SiteFs } from "../io/fs.js";
import { isMissing } from "../io/optional-files.js";

const SETTLE_MS = 2000;
/** More entries than this (many homes, a huge alias directory) start a fresh cache rather than grow. */
const MAX_ENTRIES = 10_000;

export const systemNow = (): number => Date.now();

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mode === b.mode && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

interface TimedStat {
  readonly stats: Stats;
  /** When the stat was asked for, by the cache's clock. */
  readonly startedMs: number;
}

/** Values keyed by path, each valid while a fresh stat of the path matches the stat it was made after. */
class StatKeyed<T> {
  private readonly entries = new Map<string, { readonly stats: Stats; readonly value: T }>();
  private readonly inFlight = new Map<string, Promise<TimedStat>>();
  /** The load made after each stat, for the other lookups that took the same stat. */
  private readonly loads = new WeakMap<TimedStat, Promise<T>>();

  constructor(
    private readonly fs: SiteFs,
    private readonly now: () => number,
  ) {}

  /** The value for `path`, made by `load` unless the stat matches a kept one; takers of one stat share one load. */
  async get(path: string, timed: TimedStat, load: () => Promise<T>): Promise<T> {
    const { stats, startedMs } = timed;
    const kept = this.entries.get(path);
    if (kept !== undefined && sameFile(kept.stats, stats)) return kept.value;
    // Loaded after the stat: a change in between makes the next stat differ, so the worst case is one extra load.
    let loading = this.loads.get(timed);
    if (loading === undefined) {
      loading = load();
      this.loads.set(timed, loading);
    }
    const value = await loading;
    if (stats.ctimeMs < startedMs - SETTLE_MS) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(path, { stats, value });
    } else {
      this.entries.delete(path);
    }
    return value;
  }

  /** A stat of `path`: the one in flight, if any, else a new one. */
  stat(path: string): Promise<TimedStat> {
    const shared = this.inFlight.get(path);
    if (shared !== undefined) return shared;
    const startedMs = this.now();
    // `finally` is chained first, so the entry is gone before any taker's continuation runs.
    const asked = this.fs.stat(path).finally(() => this.inFlight.delete(path));
    const timed = asked.then((stats) => ({ stats, startedMs }));
    this.inFlight.set(path, timed);
    return timed;
  }
}

/** A directory's stat and the names in it; `names` is undefined when the directory cannot be listed (x but no r). */
export interface Listing {
  readonly stats: Stats;
  readonly names: ReadonlySet<string> | undefined;
}

/** Whether `name` may be in the directory: true when the listing does not know. */
export function mayHold(listing: Listing, name: string): boolean {
  return listing.names === undefined || listing.names.has(name);
}

export class DirectoryCache {
  private readonly listings: StatKeyed<ReadonlySet<string> | undefined>;

  constructor(
    private readonly fs: SiteFs,
    now: () => number = systemNow,
  ) {
    this.listings = new StatKeyed(fs, now);
  }

  /** Stats `dir` (its errors are the caller's) and lists it when it changed. */
  async list(dir: string): Promise<Listing> {
    const timed = await this.listings.stat(dir);
    const names = await this.listings.get(dir, timed, () =>
      this.fs.readdir(dir).then(
        (list) => new Set(list),
        // Unlistable: every name has to be tried, as without a cache.
        () => undefined,
      ),
    );
    return { stats: timed.stats, names };
  }
}

/** `parse(bytes, stats)` of a file, re-read only when the file changed. */
export class ParsedFileCache<T> {
  private readonly parsed: StatKeyed<T>;

  constructor(
    private readonly fs: SiteFs,
    private readonly parse: (bytes: Buffer, stats: Stats) => T,
    now: () => number = systemNow,
  ) {
    this.parsed = new StatKeyed(fs, now);
  }

  /** The parsed file, or undefined when it is not there (ENOENT, also a dangling symlink); other errors are thrown. */
  async get(path: string): Promise<T | undefined> {
    try {
      const timed = await this.parsed.stat(path);
      return await this.parsed.get(path, timed, async () => this.parse(await this.fs.readFile(path), timed.stats));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }
}

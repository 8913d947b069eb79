// .qmail files: which one applies to a recipient, and what its lines say (dot-qmail(5),
// qmail-local's qmesearch). The extension is lowercased and `.` and `/` become `:` before it is
// put in a file name, so no extension can name `..` or a path outside the home directory
// (qmail maps only `.`; mapping `/` as well keeps an extension out of subdirectories too).
// Search, for dash `-` and ext `a-b-c`: .qmail-a-b-c, .qmail-a-b-c-default, .qmail-a-b-default,
// .qmail-a-default, .qmail-default. A file writable by others is refused (soft), as qmail does:
// anyone could otherwise make the account run programs.
// A DotQmailFiles (lspawn keeps one; a per-account child makes its own) lists each home and reads
// each .qmail file again only when it changed (config/file-cache.ts): a delivery to an unchanged
// home costs one stat of it, plus one of each .qmail file it has; the names it lacks cost nothing.
// Reads: the user's home through siteFs("dot-qmail").

import type { Instruction } from "../../../machines/local-delivery.js";
import { asciiLower } from "../../config/constmap.js";
import { DirectoryCache, mayHold, ParsedFileCache, systemNow, type Listing } from "../../config/file-cache.js";
import { siteFs } from "../../io/fs.js";
import { isMissing } from "../../io/optional-files.js";
import { join } from "node:path";
import { soft } from "./delivery-failure.js";

const fs = siteFs("dot-qmail");

export interface DotQmail {
  /** The file's name in the home, e.g. `.qmail-list-default`. */
  readonly name: string;
  readonly text: string;
  /** Mode bit 0100: forward-only (a mailing list must not write files or run programs). */
  readonly forwardOnly: boolean;
  /** What `default` in the name stood for (DEFAULT), in the extension's original case. */
  readonly defaultPart: string | undefined;
}

interface DotQmailText {
  readonly text: string;
  readonly mode: number;
}

/** A home directory, listed: its stat (mode for the home checks) and the names in it. */
export interface Home {
  readonly path: string;
  readonly listing: Listing;
  readonly files: DotQmailFiles;
}

export class DotQmailFiles {
  private readonly listings: DirectoryCache;
  private readonly texts: ParsedFileCache<DotQmailText>;

  /** `now`: the system's time, for the cache (tests pass a later one to see what is kept). */
  constructor(now: () => number = systemNow) {
    this.listings = new DirectoryCache(fs, now);
    this.texts = new ParsedFileCache(fs, (bytes, stats) => ({ text: bytes.toString("utf8"), mode: stats.mode }), now);
  }

  /** Stats and lists `path`; a failing stat is thrown. */
  async home(path: string): Promise<Home> {
    return { path, listing: await this.listings.list(path), files: this };
  }

  async read(home: Home, name: string): Promise<DotQmailText | undefined> {
    if (!mayHold(home.listing, name)) return undefined;
    try {
      return await this.texts.get(join(home.path, name));
    } catch {
      throw soft(`Unable to open ${name}. (#4.2.1)`);
    }
  }

  async exists(home: Home, name: string): Promise<boolean> {
    if (!mayHold(home.listing, name)) return false;
    try {
      await fs.stat(join(home.path, name));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw soft(`Unable to stat .qmail file. (#4.2.1)`);
    }
  }
}

export function safeExtension(ext: string): string {
  return asciiLower(ext).replace(/[./]/g, ":");
}

/** The .qmail file for `dash` + `ext`, or undefined when there is none. */
export async function findDotQmail(home: Home, dash: string, ext: string): Promise<DotQmail | undefined> {
  const safe = safeExtension(ext);
  const candidates: { name: string; defaultPart: string | undefined }[] = [
    // A direct hit on a name ending in `default` still sets DEFAULT, to the literal word.
    { name: `.qmail${dash}${safe}`, defaultPart: safe.endsWith("default") ? ext.slice(safe.length - 7) : undefined },
  ];
  for (let i = safe.length; i >= 0; i--) {
    if (i === 0 || safe[i - 1] === "-") candidates.push({ name: `.qmail${dash}${safe.slice(0, i)}default`, defaultPart: ext.slice(i) });
  }
  for (const candidate of candidates) {
    const found = await home.files.read(home, candidate.name);
    if (found === undefined) continue;
    if ((found.mode & 0o002) !== 0) throw soft("Uh-oh: .qmail file is writable. (#4.7.0)");
    return { ...candidate, text: found.text, forwardOnly: (found.mode & 0o100) !== 0 };
  }
  return undefined;
}

/** NEWSENDER: the list owner takes the bounces when `.qmail<dash><ext>-owner` exists (VERP with -owner-default). */
export async function ownerSender(home: Home, dash: string, ext: string, local: string, host: string, sender: string): Promise<string> {
  if (sender === "" || sender === "#@[]") return sender;
  const base = `.qmail${dash}${safeExtension(ext)}-owner`;
  if (!(await home.files.exists(home, base))) return sender;
  return (await home.files.exists(home, `${base}-default`)) ? `${local}-owner-@${host}-@[]` : `${local}-owner@${host}`;
}

/**
 * The lines of a .qmail text (or of defaultdelivery) as instructions. Paths are resolved against
 * `home`; forward-only files refuse file and program lines.
 */
export function parseDotQmail(text: string, home: string, forwardOnly: boolean): Instruction[] {
  const instructions: Instruction[] = [];
  let listOnly = forwardOnly;
  text.split("\n").forEach((raw, index) => {
    const line = raw.replace(/[ \t]+$/, "");
    if (line === "") {
      if (index === 0) throw soft("Uh-oh: first line of .qmail file is blank. (#4.2.1)");
      return;
    }
    switch (line[0]) {
      case "#":
        return;
      case "+":
        listOnly = true;
        return;
      case ".":
      case "/":
        if (listOnly) throw soft("Uh-oh: .qmail has file delivery but has x bit set. (#4.7.0)");
        instructions.push({ kind: line.endsWith("/") ? "maildir" : "mbox", path: line.startsWith("/") ? line : join(home, line) });
        return;
      case "|":
        if (listOnly) throw soft("Uh-oh: .qmail has prog delivery but has x bit set. (#4.7.0)");
        instructions.push({ kind: "program", command: line.slice(1) });
        return;
      case "&":
        instructions.push({ kind: "forward", address: line.slice(1) });
        return;
      default:
        instructions.push({ kind: "forward", address: line });
    }
  });
  return instructions;
}

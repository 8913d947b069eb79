// `tsqmail maildir2mbox`: qmail's maildir2mbox. Moves every message in $MAILDIR (new/ and cur/,
// oldest first by the time in its name) to the end of the mbox $MAIL: under the mbox's lock (the
// same dot-lock local delivery takes, mbox-delivery.ts), it copies the old mbox and then each
// message — a From_ line made from its Return-Path (`MAILER-DAEMON` for <>, `XXX` without one)
// and the time in its name, `>From ` quoting, a final newline and an empty line — into $MAILTMP,
// fsyncs it and renames it over $MAIL, and only then removes the messages (one that cannot be
// removed is reported: it will be moved twice). Files in tmp/ older than 36 hours are removed
// first, as qmail's maildir_clean does. Exit 0 (also when there is nothing to move); 111 with
// `fatal: …` on stderr when a variable is missing or a file cannot be read or written.

import { join } from "node:path";
import type { Command } from "../command.js";
import { siteFs } from "../../io/fs.js";
import { fromLine } from "../../services/lspawn/delivery-lines.js";
import { mboxText, withMboxLock } from "../../services/lspawn/mbox-delivery.js";
import { parseCommandArgs } from "../command-args.js";

const fs = siteFs("mbox");
const STALE_TMP_MS = 36 * 60 * 60 * 1000;

class Fatal extends Error {}

async function removeStaleTmp(maildir: string): Promise<void> {
  const tmp = join(maildir, "tmp");
  for (const name of await fs.readdir(tmp).catch(() => [] as string[])) {
    const path = join(tmp, name);
    const stat = await fs.stat(path).catch(() => undefined);
    if (stat !== undefined && Date.now() - stat.atimeMs > STALE_TMP_MS) await fs.unlink(path).catch(() => undefined);
  }
}

interface Found {
  /** $MAILDIR-relative, for messages. */
  readonly name: string;
  readonly path: string;
  /** Seconds since the epoch, from the name. */
  readonly time: number;
}

async function messages(maildir: string): Promise<Found[]> {
  const found: Found[] = [];
  for (const sub of ["new", "cur"]) {
    let names: string[];
    try {
      names = await fs.readdir(join(maildir, sub));
    } catch (error) {
      throw new Fatal(`unable to scan $MAILDIR: ${(error as Error).message}`);
    }
    for (const name of names) {
      if (name.startsWith(".")) continue;
      found.push({ name: `${sub}/${name}`, path: join(maildir, sub, name), time: Number(/^[0-9]*/.exec(name)![0] || "0") });
    }
  }
  return found.sort((a, b) => a.time - b.time || (a.name < b.name ? -1 : 1));
}

/** The From_ line's sender, from a first line `Return-Path: <…>`, as qmail's maildir2mbox reads it. */
function senderOf(message: Buffer): string {
  const lf = message.indexOf(0x0a);
  const first = message.subarray(0, lf === -1 ? message.length : lf).toString("latin1");
  if (lf === -1 || !first.startsWith("Return-Path: <")) return "XXX";
  // qmail drops the last character (the `>`) of the line, whatever it is.
  return first.slice("Return-Path: <".length, -1);
}

async function convert(maildir: string, mbox: string, mboxTmp: string, io: Parameters<Command["run"]>[1]): Promise<void> {
  await removeStaleTmp(maildir);
  const found = await messages(maildir);
  if (found.length === 0) return;
  await withMboxLock(mbox, async () => {
    let old: Buffer;
    try {
      old = await fs.readFile(mbox);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new Fatal(`unable to read ${mbox}: ${(error as Error).message}`);
      old = Buffer.alloc(0);
    }
    const parts: Buffer[] = [old];
    for (const message of found) {
      let text: Buffer;
      try {
        text = await fs.readFile(message.path);
      } catch (error) {
        throw new Fatal(`unable to read $MAILDIR/${message.name}: ${(error as Error).message}`);
      }
      parts.push(Buffer.from(fromLine(senderOf(text), message.time * 1000), "latin1"), mboxText(text));
    }
    try {
      const fh = await fs.open(mboxTmp, "w", 0o600);
      try {
        await fs.write(fh, Buffer.concat(parts));
        await fs.sync(fh);
      } finally {
        await fs.close(fh);
      }
    } catch (error) {
      throw new Fatal(`unable to write to ${mboxTmp}: ${(error as Error).message}`);
    }
    try {
      await fs.rename(mboxTmp, mbox);
    } catch (error) {
      throw new Fatal(`unable to move ${mboxTmp} to ${mbox}: ${(error as Error).message}`);
    }
  });
  for (const message of found) {
    await fs.unlink(message.path).catch((error: Error) => {
      io.stderr.write(`tsqmail maildir2mbox: warning: $MAILDIR/${message.name} will be delivered twice; unable to unlink: ${error.message}\n`);
    });
  }
}

export const maildir2mbox: Command = {
  name: "maildir2mbox",
  summary: "move the messages of $MAILDIR to the end of the mbox $MAIL (through $MAILTMP)",
  usage: "tsqmail maildir2mbox   (MAILDIR, MAIL and MAILTMP in the environment)",
  async run(args, io) {
    parseCommandArgs(args, {}, false);
    const fatal = (text: string): number => {
      io.stderr.write(`tsqmail maildir2mbox: fatal: ${text}\n`);
      return 111;
    };
    const { MAILDIR: maildir, MAIL: mbox, MAILTMP: mboxTmp } = io.env;
    if (mbox === undefined) return fatal("MAIL not set");
    if (mboxTmp === undefined) return fatal("MAILTMP not set");
    if (maildir === undefined) return fatal("MAILDIR not set");
    try {
      await convert(maildir, mbox, mboxTmp, io);
      return 0;
    } catch (error) {
      if (error instanceof Fatal) return fatal(error.message);
      if (typeof error === "object" && error !== null && "text" in error) return fatal(`unable to lock ${mbox}: ${String(error.text)}`);
      throw error;
    }
  },
};

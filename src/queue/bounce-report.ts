// bounce/N: the failure reports of one message, collected by the send service until the message
// is done and its bounce is injected (bounce-message.ts). Each permanent failure appends one
// block in qmail-send's format (addbounce):
//   <recipient>:            the recipient with `\n` turned into `_`
//   report text             a final `\n` added if missing; a `\n` right after another `\n`
//                           becomes `/`, so the reader of the bounce sees one block per recipient
//   (empty line)
// Unlike qmail, which leaves bounce/N "not crashproof", each append is fsync'd and a newly
// created bounce/N has its directory entry fsync'd: a recipient marked done must not lose its
// report. Reads and writes bounce/N only, through siteFs("bounce").

import { constants } from "node:fs";
import { siteFs } from "../io/fs.js";
import { readIfPresent, unlinkIfPresent } from "../io/optional-files.js";
import { QUEUE_FILE_MODE, queueLayout } from "./queue-layout.js";

const fs = siteFs("bounce");

const NEWLINE = 0x0a;
const SLASH = 0x2f;
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;

/** One recipient's block, exactly as qmail-send writes it. */
export function bounceBlock(recipient: string, text: string): Buffer {
  const head = `<${recipient.replaceAll("\n", "_")}>:\n`;
  const body = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  const block = Buffer.from(head + body, "utf8");
  // qmail walks backwards from the second-to-last byte to the second, so the block's last
  // newline is never rewritten and its first byte is `<`.
  for (let pos = block.length - 2; pos > 0; pos -= 1) {
    if (block[pos] === NEWLINE && block[pos - 1] === NEWLINE) block[pos] = SLASH;
  }
  return Buffer.concat([block, Buffer.from("\n")]);
}

/** `recipient` must already have its virtualdomain prefix stripped (qmail's stripvdomprepend). */
export async function appendBounceReport(queueDir: string, id: number, recipient: string, text: string): Promise<void> {
  const path = queueLayout(queueDir).file("bounce", id);
  const fh = await fs.open(path, APPEND_FLAGS, QUEUE_FILE_MODE);
  let created: boolean;
  try {
    // An empty file is either new or left by a crash before its first write; syncing the
    // directory again in the second case costs one fsync and is harmless.
    created = (await fs.fstat(fh)).size === 0;
    await fs.write(fh, bounceBlock(recipient, text));
    await fs.sync(fh);
  } finally {
    await fs.close(fh);
  }
  if (created) await fs.syncDir(queueLayout(queueDir).subdir("bounce"));
}

/** The blocks collected so far, or undefined when no recipient of message `id` failed. */
export async function readBounceReport(queueDir: string, id: number): Promise<Buffer | undefined> {
  return readIfPresent(fs, queueLayout(queueDir).file("bounce", id));
}

/** After the bounce was injected (or discarded); a report already gone is not an error. */
export async function removeBounceReport(queueDir: string, id: number): Promise<void> {
  const layout = queueLayout(queueDir);
  if (await unlinkIfPresent(fs, layout.file("bounce", id))) await fs.syncDir(layout.subdir("bounce"));
}

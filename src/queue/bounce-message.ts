// The bounce qmail-send injects once a message is done and bounce/N holds failure reports
// (injectbounce). Decides the envelope and builds the text; the caller hands both to enqueue()
// with invokedBy "bounce", then removes bounce/N. Reads the original message from `messageFile`
// (streamed in chunks when the body is consumed, never held whole); writes nothing.
//
// Envelope, after a trailing `-@[]` (a VERP request) is cut from the sender:
//   sender non-empty → from "" to the sender                               (single bounce)
//   sender ""        → from "#@[]" to doublebounceto@doublebouncehost      (double bounce)
//   sender "#@[]"    → nothing is sent: a bounce of a double bounce is dropped (triple bounce),
//                      so no loop can form and no backscatter is mailed (security.md 1.9).
// Text: qmail's, byte for byte, with qmail's RFC 822 quoting of the From and To local parts and of
// Return-Path. One deliberate difference: qmail's quoting backslash-escapes CR and LF but still
// emits them, which would let a sender or control value start a new header line; here every CR
// and LF in generated lines becomes `_` (security.md 1.5), as qmail itself does for Return-Path
// and Delivered-To in qmail-local.

import { siteFs } from "../io/fs.js";
import { qmailDate } from "./qmail-date.js";

const fs = siteFs("bounce");

/** The envelope sender of a double bounce, and the sender that marks a bounce of one. */
export const DOUBLE_BOUNCE_SENDER = "#@[]";
const VERP_SUFFIX = "-@[]";
const CHUNK_BYTES = 64 * 1024;

export interface BounceControl {
  readonly bouncefrom: string;
  readonly bouncehost: string;
  readonly doublebouncehost: string;
  readonly doublebounceto: string;
}

export interface BounceInput {
  /** The original message's envelope sender, from info/N. */
  readonly sender: string;
  /** The blocks of bounce/N. */
  readonly report: Buffer;
  /** mess/<N%23>/N */
  readonly messageFile: string;
  readonly control: BounceControl;
  /** Epoch milliseconds, for the Date line. */
  readonly now: number;
}

export type BounceMessage =
  | { readonly discard: true }
  | {
      readonly discard: false;
      readonly envelope: { readonly sender: string; readonly recipients: string[] };
      readonly body: AsyncIterable<Uint8Array>;
    };

export function composeBounce(input: BounceInput): BounceMessage {
  const sender = input.sender.endsWith(VERP_SUFFIX) ? input.sender.slice(0, -VERP_SUFFIX.length) : input.sender;
  if (sender === DOUBLE_BOUNCE_SENDER) return { discard: true };
  const single = sender !== "";
  const { bouncefrom, bouncehost, doublebouncehost, doublebounceto } = input.control;
  const recipient = single ? sender : `${doublebounceto}@${doublebouncehost}`;
  const head =
    `Date: ${qmailDate(input.now)}\n` +
    `From: ${oneLine(quoteLocalPart(bouncefrom))}@${oneLine(bouncehost)}\n` +
    `To: ${oneLine(quoteAddress(recipient))}\n` +
    "Subject: failure notice\n" +
    "\n" +
    `Hi. This is the qmail-send program at ${oneLine(bouncehost)}.\n` +
    (single
      ? "I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
      : "I tried to deliver a bounce message to this address, but the bounce bounced!\n\n");
  const copyIntro =
    (single ? "--- Below this line is a copy of the message.\n\n" : "--- Below this line is the original bounce.\n\n") +
    `Return-Path: <${oneLine(quoteAddress(sender))}>\n`;
  return {
    discard: false,
    envelope: { sender: single ? "" : DOUBLE_BOUNCE_SENDER, recipients: [recipient] },
    body: bounceBody(Buffer.from(head, "utf8"), input.report, Buffer.from(copyIntro, "utf8"), input.messageFile),
  };
}

async function* bounceBody(head: Buffer, report: Buffer, copyIntro: Buffer, messageFile: string): AsyncGenerator<Uint8Array> {
  yield head;
  yield report;
  yield copyIntro;
  const fh = await fs.open(messageFile, "r");
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      const bytesRead = await fs.read(fh, buffer);
      if (bytesRead === 0) break;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await fs.close(fh);
  }
}

/** Characters allowed unquoted in an RFC 822 local part (qmail's quote.c table). */
const ATOM_CHARS = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+$/;

/** qmail's quote(): the local part as an atom when it can be one, else as a quoted string. */
export function quoteLocalPart(local: string): string {
  const atom = ATOM_CHARS.test(local) && !local.startsWith(".") && !local.endsWith(".") && !local.includes("..");
  return atom ? local : `"${local.replace(/[\r\n"\\]/g, "\\$&")}"`;
}

/** qmail's quote2(): quotes the part before the last `@` and keeps the domain as it is. */
export function quoteAddress(address: string): string {
  if (address === "") return "";
  const at = address.lastIndexOf("@");
  return at < 0 ? quoteLocalPart(address) : quoteLocalPart(address.slice(0, at)) + address.slice(at);
}

const oneLine = (text: string): string => text.replace(/[\r\n]/g, "_");

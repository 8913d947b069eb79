// The envelope of a queued message and its two byte formats:
//   wire (what qmail-queue reads on fd 1):  F<sender>\0 T<rcpt>\0 … \0
//   intd/todo file:                         u<uid>\0 p<pid>\0 F<sender>\0 T<rcpt>\0 …  (no final \0)
// Addresses are bytes (UTF-8 when given as strings). Checks, in this order, applied to every path
// into the queue:
//   - more than 1002 bytes → 11. qmail-queue's ADDR is 1003 bytes *including* the terminating NUL.
//   - NUL, CR or LF inside an address → 31 (permanent). qmail-queue cannot even see a NUL (it ends
//     the record, so a string address with one would smuggle in extra recipients), and it passes
//     CR/LF through — into Return-Path, Delivered-To and qmail-remote's `MAIL FROM:<…>`, where a
//     line break becomes header or SMTP command injection (security.md 1.3, 1.5, rule 5). Retrying
//     can never make such an address acceptable, hence a permanent code.
// Reading the wire format: first byte not F, or a record lead byte other than T → 91; end of input
// before the final lone NUL, or a read error → 54.

import { QueueExit } from "./queue-exit.js";

export interface Envelope {
  readonly sender: string;
  readonly recipients: readonly string[];
}

export interface EncodedEnvelope {
  readonly sender: Uint8Array;
  readonly recipients: readonly Uint8Array[];
}

export type EnvelopeRejection =
  | typeof QueueExit.addressTooLong
  | typeof QueueExit.permanentlyRejected
  | typeof QueueExit.readError
  | typeof QueueExit.envelopeFormat;

export type EnvelopeCheck =
  | { readonly ok: true; readonly envelope: EncodedEnvelope }
  | { readonly ok: false; readonly exit: EnvelopeRejection };

/** The longest address qmail-queue accepts, in bytes, not counting its terminating NUL. */
export const MAX_ADDRESS_BYTES = 1002;

const NUL = 0;
const LF = 0x0a;
const CR = 0x0d;
const LEAD_SENDER = 0x46; // F
const LEAD_RECIPIENT = 0x54; // T

const utf8 = new TextEncoder();

function addressRejection(address: Uint8Array): EnvelopeRejection | undefined {
  if (address.length > MAX_ADDRESS_BYTES) return QueueExit.addressTooLong;
  if (address.includes(NUL) || address.includes(CR) || address.includes(LF)) return QueueExit.permanentlyRejected;
  return undefined;
}

function checked(sender: Uint8Array, recipients: readonly Uint8Array[]): EnvelopeCheck {
  for (const address of [sender, ...recipients]) {
    const exit = addressRejection(address);
    if (exit !== undefined) return { ok: false, exit };
  }
  return { ok: true, envelope: { sender, recipients } };
}

export function encodeEnvelope(envelope: Envelope): EnvelopeCheck {
  return checked(
    utf8.encode(envelope.sender),
    envelope.recipients.map((r) => utf8.encode(r)),
  );
}

function records(envelope: EncodedEnvelope): Uint8Array[] {
  const out: Uint8Array[] = [Uint8Array.of(LEAD_SENDER), envelope.sender, Uint8Array.of(NUL)];
  for (const recipient of envelope.recipients) out.push(Uint8Array.of(LEAD_RECIPIENT), recipient, Uint8Array.of(NUL));
  return out;
}

/** What a qmail-queue program expects on its fd 1. */
export function envelopeWireBytes(envelope: EncodedEnvelope): Buffer {
  return Buffer.concat([...records(envelope), Uint8Array.of(NUL)]);
}

/** The contents of intd/N (and so todo/N). */
export function intdFileBytes(uid: number, pid: number, envelope: EncodedEnvelope): Buffer {
  return Buffer.concat([Buffer.from(`u${uid}\0p${pid}\0`, "latin1"), ...records(envelope)]);
}

/**
 * Reads the wire format from `source` up to and including the final lone NUL, and stops there.
 * Memory is bounded per address; the number of recipients is not (qmail-queue has no limit either).
 */
export async function readEnvelope(source: AsyncIterable<Uint8Array>): Promise<EnvelopeCheck> {
  const fail = (exit: EnvelopeRejection): EnvelopeCheck => ({ ok: false, exit });
  const addresses: Uint8Array[] = [];
  const address = new Uint8Array(MAX_ADDRESS_BYTES);
  let length = 0;
  let inAddress = false;
  try {
    for await (const chunk of source) {
      for (const byte of chunk) {
        if (inAddress) {
          if (byte !== NUL) {
            if (length === MAX_ADDRESS_BYTES) return fail(QueueExit.addressTooLong);
            address[length++] = byte;
            continue;
          }
          const complete = address.slice(0, length);
          const exit = addressRejection(complete);
          if (exit !== undefined) return fail(exit);
          addresses.push(complete);
          length = 0;
          inAddress = false;
        } else if (addresses.length === 0) {
          if (byte !== LEAD_SENDER) return fail(QueueExit.envelopeFormat);
          inAddress = true;
        } else if (byte === NUL) {
          const [sender, ...recipients] = addresses as [Uint8Array, ...Uint8Array[]];
          return { ok: true, envelope: { sender, recipients } };
        } else if (byte === LEAD_RECIPIENT) {
          inAddress = true;
        } else {
          return fail(QueueExit.envelopeFormat);
        }
      }
    }
  } catch {
    return fail(QueueExit.readError);
  }
  return fail(QueueExit.readError);
}

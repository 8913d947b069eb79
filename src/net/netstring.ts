// Netstrings (`<decimal length>:<bytes>,`, cr.yp.to/proto/netstrings.txt), as QMTP and QMQP use
// them, on both sides of a connection. The decoder is incremental and strict: it is fed chunks as
// they arrive and reports each netstring as `start` (its length), `data` (slices of the payload,
// never copied or gathered — a 200 MB message passes through without being held) and `end`
// (after the comma). What qmail-qmtpd tolerates by accident, it refuses:
//   - a byte other than 0-9 before the colon, or a colon with no digit before it → "non-digit";
//   - more than `maxDigits` digits → "too-many-digits" (leading zeros are allowed, as qmail's
//     getlen accepts them, but they count, so a client cannot stream zeros for ever);
//   - a length above `maxLength` → "too-long" (qmail's 200,000,000 by default);
//   - any byte but `,` after the payload → "missing-comma";
//   - end of input inside a netstring → "truncated" (see `finish`).
// An error is final: the decoder refuses further input, the stream is out of sync for good.
// A payload can itself be netstrings (QMTP's recipient list, QMQP's whole request): feed its data
// events to a second decoder and `finish` it at the outer `end`.

export type NetstringFault = "non-digit" | "too-many-digits" | "too-long" | "missing-comma" | "truncated";

export class NetstringError extends Error {
  constructor(readonly fault: NetstringFault) {
    super(`malformed netstring: ${fault}`);
    this.name = "NetstringError";
  }
}

export interface NetstringLimits {
  /** Largest payload accepted, in bytes. */
  readonly maxLength: number;
  /** Most digits (leading zeros included) before the colon. */
  readonly maxDigits: number;
}

/** qmail-qmtpd and qmail-qmqpd give up on a length above 200,000,000 (security.md §1.10). */
export const QMAIL_NETSTRING_LIMITS: NetstringLimits = { maxLength: 200_000_000, maxDigits: 12 };

export type NetstringEvent =
  | { readonly type: "start"; readonly length: number }
  | { readonly type: "data"; readonly bytes: Uint8Array }
  | { readonly type: "end" };

const COLON = 0x3a;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;

export class NetstringDecoder {
  private state: "length" | "payload" | "comma" | "failed" = "length";
  private digits = 0;
  private length = 0;
  private remaining = 0;

  constructor(private readonly limits: NetstringLimits = QMAIL_NETSTRING_LIMITS) {}

  /** Between netstrings: nothing of the next one read yet. */
  get idle(): boolean {
    return this.state === "length" && this.digits === 0;
  }

  /** Decodes one chunk; returns the events it completes, in order. Throws NetstringError. */
  push(chunk: Uint8Array): NetstringEvent[] {
    if (this.state === "failed") throw new NetstringError("truncated");
    const events: NetstringEvent[] = [];
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case "length": {
          const byte = chunk[at++]!;
          if (byte === COLON && this.digits > 0) {
            this.state = this.length === 0 ? "comma" : "payload";
            this.remaining = this.length;
            events.push({ type: "start", length: this.length });
          } else if (byte >= ZERO && byte <= NINE) {
            if (++this.digits > this.limits.maxDigits) this.fail("too-many-digits");
            this.length = this.length * 10 + (byte - ZERO);
            if (this.length > this.limits.maxLength) this.fail("too-long");
          } else this.fail("non-digit");
          break;
        }
        case "payload": {
          const take = Math.min(this.remaining, chunk.length - at);
          events.push({ type: "data", bytes: chunk.subarray(at, at + take) });
          at += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = "comma";
          break;
        }
        case "comma": {
          if (chunk[at++] !== COMMA) this.fail("missing-comma");
          events.push({ type: "end" });
          this.state = "length";
          this.digits = 0;
          this.length = 0;
          break;
        }
      }
    }
    return events;
  }

  /** The input has ended: throws "truncated" unless the decoder is between netstrings. */
  finish(): void {
    if (!this.idle) this.fail("truncated");
  }

  private fail(fault: NetstringFault): never {
    this.state = "failed";
    throw new NetstringError(fault);
  }
}

/** `<length>:` — what precedes a payload of `length` bytes that is then written in pieces. */
export function netstringHeader(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`not a netstring length: ${length}`);
  return Buffer.from(`${length}:`, "latin1");
}

/** One netstring; a string is encoded as UTF-8. */
export function encodeNetstring(payload: Uint8Array | string): Buffer {
  const bytes = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  return Buffer.concat([netstringHeader(bytes.length), bytes, NETSTRING_END]);
}

/** The comma that closes every netstring. */
export const NETSTRING_END: Buffer = Buffer.from(",", "latin1");

/**
 * Whole netstrings of at most `maxLength` bytes each, gathered from chunks (replies, addresses):
 * returns the payloads completed by this chunk. For payloads that must stream, use the decoder.
 */
export class NetstringCollector {
  private readonly decoder: NetstringDecoder;
  private parts: Uint8Array[] = [];

  constructor(maxLength: number) {
    this.decoder = new NetstringDecoder({ maxLength, maxDigits: QMAIL_NETSTRING_LIMITS.maxDigits });
  }

  push(chunk: Uint8Array): Buffer[] {
    const done: Buffer[] = [];
    for (const event of this.decoder.push(chunk)) {
      if (event.type === "data") this.parts.push(event.bytes);
      else if (event.type === "end") {
        done.push(Buffer.concat(this.parts));
        this.parts = [];
      }
    }
    return done;
  }

  finish(): void {
    this.decoder.finish();
  }
}

// The message netstring of a QMTP package or a QMQP request, read chunk by chunk as the queue
// asks for it. QMTP's first byte says how lines end — `\n`: as they are, `\r`: CR LF, which
// becomes LF (a CR not before LF stays) — and is not part of the message; any other first byte
// is a protocol error. QMQP messages pass unchanged. The bytes after conversion are counted
// against databytes (0: no limit), as qmail-qmtpd counts them; going over marks the body
// `overDatabytes` but it is still read to its end, so the session stays in step.

import { NetstringError } from "../../net/netstring.js";
import { payload, type NetstringSource } from "./netstring-input.js";

const LF = 0x0a;
const CR = 0x0d;

export type LineEnds = "qmtp" | "unchanged";

export class MessageBody {
  private readonly chunks: AsyncGenerator<Uint8Array>;
  private firstByte: boolean;
  private crlf = false;
  private heldCr = false;
  private bytes = 0;
  /** Set once the payload's comma has been read. */
  done = false;
  overDatabytes = false;
  private failure: unknown;
  /** Settles when the payload has been read to its comma, or reading it failed. */
  readonly drained: Promise<void>;
  private settle!: (failure?: unknown) => void;

  constructor(
    source: NetstringSource,
    lineEnds: LineEnds,
    private readonly databytes: number,
  ) {
    this.chunks = payload(source);
    this.firstByte = lineEnds === "qmtp";
    this.drained = new Promise((resolve) => (this.settle = () => resolve()));
  }

  /** The next converted bytes; undefined at the end. Throws what reading threw, again on every later call. */
  async next(): Promise<Uint8Array | undefined> {
    if (this.failure !== undefined) throw this.failure;
    if (this.done) return undefined;
    try {
      for (;;) {
        const step = await this.chunks.next();
        if (step.done === true) {
          this.done = true;
          this.settle();
          return this.heldCr ? this.count(Uint8Array.of(CR)) : undefined;
        }
        let chunk = step.value;
        if (this.firstByte && chunk.length > 0) {
          this.firstByte = false;
          if (chunk[0] === CR) this.crlf = true;
          else if (chunk[0] !== LF) throw new NetstringError("non-digit");
          chunk = chunk.subarray(1);
        }
        const converted = this.crlf ? this.fromCrlf(chunk) : chunk;
        if (converted.length > 0) return this.count(converted);
      }
    } catch (error) {
      this.failure = error;
      this.settle();
      throw error;
    }
  }

  /** Reads whatever is left of the payload, discarding it. */
  async drain(): Promise<void> {
    while ((await this.next()) !== undefined);
  }

  private count(bytes: Uint8Array): Uint8Array {
    this.bytes += bytes.length;
    if (this.databytes > 0 && this.bytes > this.databytes) this.overDatabytes = true;
    return bytes;
  }

  /** CR LF → LF; a CR at the end of a chunk waits to see the next byte. */
  private fromCrlf(chunk: Uint8Array): Uint8Array {
    const out = Buffer.allocUnsafe(chunk.length + 1);
    let o = 0;
    let i = 0;
    if (this.heldCr && chunk.length > 0) {
      this.heldCr = false;
      if (chunk[0] === LF) {
        out[o++] = LF;
        i = 1;
      } else out[o++] = CR;
    }
    while (i < chunk.length) {
      const cr = chunk.indexOf(CR, i);
      const stop = cr === -1 ? chunk.length : cr;
      out.set(chunk.subarray(i, stop), o);
      o += stop - i;
      if (cr === -1) break;
      if (cr + 1 === chunk.length) {
        this.heldCr = true;
        break;
      }
      if (chunk[cr + 1] === LF) {
        out[o++] = LF;
        i = cr + 2;
      } else {
        out[o++] = CR;
        i = cr + 1;
      }
    }
    return out.subarray(0, o);
  }
}

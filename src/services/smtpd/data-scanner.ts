// The DATA phase's byte scanner (qmail-smtpd's blast(), made strict): turns the client's
// dot-stuffed CRLF text into the stored LF text, and finds the end. The end is exactly
// CR LF . CR LF; a LF without its CR, or a CR without its LF, anywhere — qmail rejects only the
// first, tsqmail both (security.md §0 rule 1) — stops the scan, so no smuggling variant of
// §1.1 can end the message early and have its tail read as commands. Also counts the bytes
// stored (for databytes) and the Received/Delivered header lines (qmail's hop count).
// Pure: chunks in, body bytes out.

/** qmail's MAXHOPS: this many Received/Delivered header lines and the message is looping. */
export const MAX_HOPS = 100;

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

const enum At {
  LineStart,
  InLine,
  AfterCr,
  AfterDot,
  AfterDotCr,
}

const RECEIVED = Buffer.from("received");
const DELIVERED = Buffer.from("delivered");

export interface ScanResult {
  /** Body bytes to store (LF line ends, dots unstuffed). */
  readonly body: Buffer;
  /** "end": CRLF.CRLF seen, `rest` is what followed it; "bare-line-end": a lone CR or LF. */
  readonly stop?: { readonly kind: "end"; readonly rest: Buffer } | { readonly kind: "bare-line-end" };
}

export class DataScanner {
  /** Bytes stored so far (qmail's databytes counts these). */
  bytes = 0;
  hops = 0;
  private at = At.LineStart;
  private inHeader = true;
  private linePos = 0;
  private mayBeReceived = true;
  private mayBeDelivered = true;

  scan(chunk: Buffer): ScanResult {
    const out = Buffer.allocUnsafe(chunk.length);
    let o = 0;
    const put = (ch: number): void => {
      out[o++] = ch;
      if (this.inHeader) this.countHop(ch);
    };
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i]!;
      switch (this.at) {
        case At.LineStart:
          if (ch === DOT) this.at = At.AfterDot;
          else if (ch === CR) this.at = At.AfterCr;
          else if (ch === LF) return this.bare(out, o);
          else {
            put(ch);
            this.at = At.InLine;
          }
          break;
        case At.InLine:
          if (ch === CR) this.at = At.AfterCr;
          else if (ch === LF) return this.bare(out, o);
          else put(ch);
          break;
        case At.AfterCr:
          if (ch !== LF) return this.bare(out, o);
          put(LF);
          this.at = At.LineStart;
          break;
        case At.AfterDot:
          // A leading dot is dot-stuffing: drop it, keep the rest of the line.
          if (ch === CR) this.at = At.AfterDotCr;
          else if (ch === LF) return this.bare(out, o);
          else {
            put(ch);
            this.at = At.InLine;
          }
          break;
        case At.AfterDotCr:
          if (ch !== LF) return this.bare(out, o);
          this.bytes += o;
          return { body: out.subarray(0, o), stop: { kind: "end", rest: chunk.subarray(i + 1) } };
      }
    }
    this.bytes += o;
    return { body: out.subarray(0, o) };
  }

  private bare(out: Buffer, o: number): ScanResult {
    return { body: out.subarray(0, o), stop: { kind: "bare-line-end" } };
  }

  // qmail counts header lines starting with "received" or "delivered", each letter in either case.
  private countHop(ch: number): void {
    if (ch === LF) {
      if (this.linePos === 0) this.inHeader = false;
      this.linePos = 0;
      this.mayBeReceived = this.mayBeDelivered = true;
      return;
    }
    const lower = ch | 0x20;
    if (this.mayBeReceived && (this.linePos >= RECEIVED.length || lower !== RECEIVED[this.linePos])) this.mayBeReceived = false;
    if (this.mayBeDelivered && (this.linePos >= DELIVERED.length || lower !== DELIVERED[this.linePos])) this.mayBeDelivered = false;
    if (this.mayBeReceived && this.linePos === RECEIVED.length - 1) this.hops++;
    if (this.mayBeDelivered && this.linePos === DELIVERED.length - 1) this.hops++;
    this.linePos++;
  }
}

// qmail-pop3d's blast(): how a Maildir file goes on the wire for RETR and TOP. Each LF becomes
// CR LF (a CR already there is kept, as qmail keeps it); a line starting with `.` gets a second
// `.` (RFC 1939 byte-stuffing, so a body can never end the response early — security.md §1.10);
// a last line without LF is ended; then an extra empty line and `.` close the response. TOP n k
// stops after the header and k body lines (the header ends at the first empty line). The file is
// fed in chunks of any size, so a large message is never held whole.

const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from("\r\n");
const STUFFED_DOT = Buffer.from(".");
/** What follows the last line: qmail's extra empty line and the terminator. */
const END = Buffer.from("\r\n.\r\n");

export class MessageBlast {
  private atLineStart = true;
  private inHeader = true;
  /** Body lines still allowed plus one (qmail's `limit`); 0 = no limit. */
  private limit: number;
  private stopped = false;

  /** `lines` undefined: the whole message (RETR); a number: TOP's body line count. */
  constructor(lines: number | undefined) {
    this.limit = lines === undefined ? 0 : lines + 1;
  }

  /** True once TOP has sent all it may: the rest of the file need not be read. */
  get done(): boolean {
    return this.stopped;
  }

  /** The wire bytes for the next piece of the file. */
  push(chunk: Uint8Array): Buffer {
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length && !this.stopped) {
      if (this.atLineStart) {
        if (this.limit > 0 && !this.inHeader && --this.limit === 0) {
          this.stopped = true;
          break;
        }
        if (chunk[at] === LF) this.inHeader = false;
        else if (chunk[at] === DOT) out.push(STUFFED_DOT);
        this.atLineStart = false;
      }
      const lf = chunk.indexOf(LF, at);
      const end = lf === -1 ? chunk.length : lf;
      out.push(chunk.subarray(at, end));
      if (lf === -1) break;
      out.push(CRLF);
      this.atLineStart = true;
      at = lf + 1;
    }
    return Buffer.concat(out);
  }

  /** The end of the response: the unfinished last line closed, the empty line and `.`. */
  finish(): Buffer {
    return this.atLineStart || this.stopped ? END : Buffer.concat([CRLF, END]);
  }
}

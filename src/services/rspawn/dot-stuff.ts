// The message body as it goes on the wire after DATA (RFC 5321 §4.5.2), built so that nothing
// stored in the queue can end the data early at the next hop (security.md §0 rule 2, §1.1).
// The stored message is split into lines FIRST — at CR LF, at a bare LF and at a bare CR alike —
// and only then is every line dot-stuffed and ended with CR LF. So no bare CR or LF ever leaves
// here, and every line that starts with `.` is doubled, including one after a bare CR: notqmail's
// qmail-remote turned a stored `X\r.\n` into `X\r\n.\r\n` (a real end of data followed by whatever
// came next, e.g. a smuggled MAIL command); here it becomes `X\r\n..\r\n`.
// `DotStuffer` does this chunk by chunk, so a large message streams from its mess file without
// being held whole; a CR at the end of one chunk and an LF at the start of the next are still
// one line end. qmail's rule stays: a message whose last line has no line end is refused
// (#5.6.2), rather than sent with an end added that the sender never wrote (`endsInLine`).

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** Does the stored message end with a line end (or hold nothing)? Its last byte decides. */
export const endsInLine = (lastByte: number | undefined): boolean => lastByte === undefined || lastByte === CR || lastByte === LF;

export class DotStuffer {
  private lineStart = true;
  /** A CR was the last byte seen: the line end it starts may take an LF from the next chunk. */
  private pendingCr = false;

  /** The wire bytes for the next stored chunk. */
  push(chunk: Uint8Array): Buffer {
    // Worst case every byte is a line end (2 bytes out) or a leading dot (2 bytes out).
    const out = Buffer.allocUnsafe(2 * chunk.length + 2);
    let at = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.pendingCr) {
        this.pendingCr = false;
        out[at++] = CR;
        out[at++] = LF;
        this.lineStart = true;
        if (byte === LF) continue; // CR LF is one line end
      }
      if (byte === CR) {
        this.pendingCr = true;
        continue;
      }
      if (byte === LF) {
        out[at++] = CR;
        out[at++] = LF;
        this.lineStart = true;
        continue;
      }
      if (this.lineStart && byte === DOT) out[at++] = DOT;
      out[at++] = byte;
      this.lineStart = false;
    }
    return out.subarray(0, at);
  }

  /** The last line end still pending, and the final `.` CR LF. */
  end(): Buffer {
    return Buffer.from(this.pendingCr ? "\r\n.\r\n" : ".\r\n", "latin1");
  }
}

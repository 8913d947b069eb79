// The message body as it goes on the wire after DATA (RFC 5321 §4.5.2), built so that nothing
// stored in the queue can end the data early at the next hop (security.md §0 rule 2, §1.1).
// The stored message is split into lines FIRST — at CR LF, at a bare LF and at a bare CR alike —
// and only then is every line dot-stuffed and ended with CR LF. So no bare CR or LF ever leaves
// here, and every line that starts with `.` is doubled, including one after a bare CR: notqmail's
// qmail-remote turned a stored `X\r.\n` into `X\r\n.\r\n` (a real end of data followed by whatever
// came next, e.g. a smuggled MAIL command); here it becomes `X\r\n..\r\n`.
// qmail's rule stays: a message whose last line has no line end is refused (#5.6.2), rather
// than sent with an end added that the sender never wrote.

/** The bytes to send after DATA's 354, the final `.` CR LF included; undefined for a partial final line. */
export function dataOnWire(message: Uint8Array): Buffer | undefined {
  const length = message.length;
  if (length > 0 && message[length - 1] !== LF && message[length - 1] !== CR) return undefined;
  // Worst case every byte is a line end (2 bytes out) or a leading dot (2 bytes out).
  const out = Buffer.allocUnsafe(2 * length + 3);
  let at = 0;
  let lineStart = true;
  for (let i = 0; i < length; i++) {
    const byte = message[i]!;
    if (byte === CR || byte === LF) {
      // CR LF is one line end; a CR or LF on its own is one too.
      if (byte === CR && message[i + 1] === LF) i++;
      out[at++] = CR;
      out[at++] = LF;
      lineStart = true;
      continue;
    }
    if (lineStart && byte === DOT) out[at++] = DOT;
    out[at++] = byte;
    lineStart = false;
  }
  out[at++] = DOT;
  out[at++] = CR;
  out[at++] = LF;
  return out.subarray(0, at);
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

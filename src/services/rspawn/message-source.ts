// The message a batch sends, from its mess file: what MAIL FROM needs to know before the body
// goes out (its size for SIZE, whether it holds 8-bit bytes for BODY=8BITMIME, whether its last
// line is complete) and the body itself, dot-stuffed on the way (dot-stuff.ts) for SMTP, as
// stored for QMTP. A message up to
// HOLD_BYTES is read once and held; a larger one is never held whole: it is scanned once in
// CHUNK_BYTES pieces for the facts, and streamed from the file again when DATA is accepted.
// Reads: the queue's mess files, through the file-system seam.

import type { SiteFs } from "../../io/fs.js";
import { DotStuffer, endsInLine } from "./dot-stuff.js";

const HOLD_BYTES = 1 << 20;
const CHUNK_BYTES = 1 << 16;

export interface MessageSource {
  readonly size: number;
  readonly eightBit: boolean;
  /** The last line has its line end (qmail refuses to send a partial final line, #5.6.2). */
  readonly complete: boolean;
  /** Writes the body on the wire, the final `.` CR LF included; `write` resolves once the bytes are taken. */
  send(write: (bytes: Buffer) => Promise<void>): Promise<void>;
  /** Writes the stored bytes as they are (QMTP: the length says where the message ends). */
  sendRaw(write: (bytes: Buffer) => Promise<void>): Promise<void>;
}

const hasEightBit = (bytes: Uint8Array): boolean => bytes.some((byte) => byte > 0x7f);

/** The whole file when it is at most HOLD_BYTES, else only its size: one open serves both. */
async function readSmall(fs: SiteFs, file: string): Promise<{ size: number; stored: Buffer | undefined }> {
  const fh = await fs.open(file, "r");
  try {
    const { size } = await fs.fstat(fh);
    if (size > HOLD_BYTES) return { size, stored: undefined };
    const stored = Buffer.allocUnsafe(size);
    let at = 0;
    while (at < size) {
      const count = await fs.read(fh, stored.subarray(at), at);
      if (count === 0) break;
      at += count;
    }
    return { size: at, stored: stored.subarray(0, at) };
  } finally {
    await fs.close(fh);
  }
}

export async function openMessage(fs: SiteFs, file: string): Promise<MessageSource> {
  const { size, stored } = await readSmall(fs, file);
  if (stored !== undefined) {
    return {
      size: stored.length,
      eightBit: hasEightBit(stored),
      complete: endsInLine(stored.at(-1)),
      send: (write) => {
        const stuffer = new DotStuffer();
        return write(Buffer.concat([stuffer.push(stored), stuffer.end()]));
      },
      sendRaw: (write) => write(stored),
    };
  }
  let eightBit = false;
  let lastByte: number | undefined;
  await eachChunk(fs, file, async (chunk) => {
    eightBit ||= hasEightBit(chunk);
    lastByte = chunk.at(-1);
  });
  return {
    size,
    eightBit,
    complete: endsInLine(lastByte),
    async send(write) {
      const stuffer = new DotStuffer();
      await eachChunk(fs, file, (chunk) => write(stuffer.push(chunk)));
      await write(stuffer.end());
    },
    sendRaw: (write) => eachChunk(fs, file, write),
  };
}

/** Reads `file` in CHUNK_BYTES pieces, handing each to `use` before reading the next. */
async function eachChunk(fs: SiteFs, file: string, use: (chunk: Buffer) => Promise<void>): Promise<void> {
  const fh = await fs.open(file, "r");
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (let position = 0; ; ) {
      const count = await fs.read(fh, buffer, position);
      if (count === 0) return;
      position += count;
      // `use` may keep the bytes (a socket write in flight): it gets its own copy.
      await use(Buffer.from(buffer.subarray(0, count)));
    }
  } finally {
    await fs.close(fh);
  }
}

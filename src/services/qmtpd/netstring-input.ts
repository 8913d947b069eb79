// Netstrings from a client, one event at a time, for qmtpd and qmqpd: `SocketNetstrings` decodes
// what the ClientStream reads (nothing is read from the socket while nobody asks, so a client
// cannot make us buffer ahead), `NestedNetstrings` decodes the payload of the netstring being read
// (QMTP's recipient list, QMQP's whole request) as netstrings of its own. Both throw
// NetstringError for malformed or truncated input and ClientGone for a timeout; they return
// "end-of-input" only between netstrings. On top, the three reads the sessions need: a length, a
// small payload kept up to a cap (addresses), and a payload streamed chunk by chunk (the message).

import { NetstringDecoder, NetstringError, type NetstringEvent } from "../../net/netstring.js";
import type { ClientStream } from "../smtpd/client-stream.js";

export class ClientGone extends Error {}
/** Well-formed netstrings that break the protocol's rules (a QMTP message of length 0, a bad first byte). */
export class ProtocolError extends Error {}

export interface NetstringSource {
  next(): Promise<NetstringEvent | "end-of-input">;
}

export class SocketNetstrings implements NetstringSource {
  private readonly decoder = new NetstringDecoder();
  private events: NetstringEvent[] = [];

  constructor(private readonly stream: ClientStream) {}

  async next(): Promise<NetstringEvent | "end-of-input"> {
    while (this.events.length === 0) {
      const chunk = await this.stream.readChunk();
      if (chunk === "timeout") throw new ClientGone("timeout");
      if (chunk === "closed") {
        this.decoder.finish();
        return "end-of-input";
      }
      this.events = this.decoder.push(chunk);
    }
    return this.events.shift()!;
  }
}

/** The netstrings inside the payload of the netstring `outer` has just started. */
export class NestedNetstrings implements NetstringSource {
  private readonly decoder = new NetstringDecoder();
  private events: NetstringEvent[] = [];
  private ended = false;

  constructor(private readonly outer: NetstringSource) {}

  async next(): Promise<NetstringEvent | "end-of-input"> {
    while (this.events.length === 0) {
      if (this.ended) return "end-of-input";
      const event = await this.outer.next();
      if (event === "end-of-input" || event.type === "start") throw new NetstringError("truncated");
      if (event.type === "end") {
        this.decoder.finish();
        this.ended = true;
      } else this.events = this.decoder.push(event.bytes);
    }
    return this.events.shift()!;
  }
}

/** The length of the next netstring, or "end-of-input" between netstrings. */
export async function nextLength(source: NetstringSource): Promise<number | "end-of-input"> {
  const event = await source.next();
  if (event === "end-of-input") return event;
  if (event.type !== "start") throw new Error(`netstring reader out of step: ${event.type}`);
  return event.length;
}

/** The payload of the netstring just started, chunk by chunk, until its comma. */
export async function* payload(source: NetstringSource): AsyncGenerator<Uint8Array> {
  for (;;) {
    const event = await source.next();
    if (event === "end-of-input" || event.type === "start") throw new NetstringError("truncated");
    if (event.type === "end") return;
    yield event.bytes;
  }
}

export interface SmallPayload {
  /** The first `cap` bytes at most. */
  readonly bytes: Buffer;
  /** The payload's real length. */
  readonly length: number;
}

/** The next whole netstring, keeping at most `cap` bytes of it: addresses, whose length decides. */
export async function readSmall(source: NetstringSource, cap: number): Promise<SmallPayload | "end-of-input"> {
  const length = await nextLength(source);
  if (length === "end-of-input") return length;
  const parts: Uint8Array[] = [];
  let kept = 0;
  for await (const bytes of payload(source)) {
    if (kept < cap) parts.push(bytes.subarray(0, cap - kept));
    kept = Math.min(cap, kept + bytes.length);
  }
  return { bytes: Buffer.concat(parts), length };
}

// The byte stream of one SMTP (or POP3) client, read on demand: the session asks for a command
// line or, in DATA, for raw chunks; nothing is read from the socket while nobody asks (the socket
// stays paused, so a client cannot make us buffer more than one chunk ahead). Every wait is
// bounded by the session's timeout (timeoutsmtpd). Replies are collected and go out in one write
// when the stream is about to wait for the client (as qmail-smtpd flushes before each read), so
// the answers to a pipelined group cost one write, not one each. STARTTLS swaps the socket for a
// TLSSocket and throws away whatever had been read but not yet parsed — the plaintext a man in
// the middle could have appended (security.md §1.2).

import type { Socket } from "node:net";
import type { X509Certificate } from "node:crypto";
import { TLSSocket, type SecureContext } from "node:tls";
import type { AnyActorRef } from "xstate";
import { sendIfActive } from "../../../machines/answering.js";
import { inputEvent, type ReadResult } from "../../../machines/line-input.js";
import type { SplitLine } from "../../../machines/smtp-syntax.js";
import { trustedClientDn } from "./client-certificate.js";

/** Longest command line (AUTH responses included) before the rest of the line is discarded. */
export const MAX_LINE_BYTES = 2048;

/** Replies held back past this many characters are written at once (a long pipelined burst). */
const MAX_OUTBOX_CHARS = 16 * 1024;
/** How long our last bytes may wait for a client that does not read them (see end()). */
const CLOSE_WAIT_MS = 5000;

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

export type ChunkResult = Buffer | "timeout" | "closed";

/** How a wait for the client ended: bytes arrived, or why none will. */
type WaitOutcome = "data" | "timeout" | "closed";

type Split = (line: string) => SplitLine;

const unsplit: Split = (text) => ({ text });

/** How a socket finds its stream: the listeners below are shared, not closures per connection. */
const STREAM = Symbol("client stream");

type FedSocket = Socket & { [STREAM]?: ClientStream };

export class ClientStream {
  private pending: Buffer = EMPTY;
  private ended = false;
  private outbox = "";
  /** Who waits for the client now, if anyone: the line request, or a DATA chunk read. */
  private waiting: "line" | "chunk" | undefined;
  private chunkReader: ((result: ChunkResult) => void) | undefined;
  /** One timer for the stream's whole life, re-armed by each wait (no timer object per line). */
  private timer: NodeJS.Timeout | undefined;
  /**
   * The line request being served: how to split the line, and who gets it — a callback, or a
   * session actor given its input event (kept as the actor: no closure per idle connection).
   */
  private split: Split = unsplit;
  private deliver: ((result: ReadResult) => void) | AnyActorRef | undefined;
  /** The line being read has already passed MAX_LINE_BYTES: its bytes are being dropped. */
  private overlong = false;

  private static onData(this: FedSocket, chunk: Buffer): void {
    const stream = this[STREAM]!;
    stream.pending = stream.pending.length === 0 ? chunk : Buffer.concat([stream.pending, chunk]);
    this.pause();
    stream.finishWait("data");
  }

  private static onEnd(this: FedSocket): void {
    const stream = this[STREAM]!;
    stream.ended = true;
    stream.finishWait("closed");
  }

  private static onClose(this: FedSocket): void {
    clearTimeout(this[STREAM]!.timer);
    ClientStream.onEnd.call(this);
  }

  private static onTimeout(stream: ClientStream): void {
    stream.finishWait("timeout");
  }

  constructor(
    private socket: Socket,
    private readonly timeoutMs: number,
  ) {
    this.attach();
  }

  get secure(): boolean {
    return this.socket instanceof TLSSocket;
  }

  /** One reply; it goes out before the stream next waits for the client, or ends. */
  write(text: string): void {
    this.outbox += `${text}\r\n`;
    if (this.outbox.length > MAX_OUTBOX_CHARS) this.flush();
  }

  /** Raw bytes (POP3's message bodies), after the replies before them; resolves once the socket can take more, so a slow reader holds back the writer. */
  writeBytes(bytes: Uint8Array): Promise<void> {
    this.flush();
    if (this.socket.destroyed) return Promise.resolve();
    if (this.socket.write(bytes)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }

  /**
   * Writes the replies not yet sent, then closes the connection whole, as qmail's exiting process
   * does: once our last bytes are with the kernel (which still delivers them, then FIN), the
   * socket is destroyed rather than left open to read until the client closes. Waiting for the
   * client's side gained nothing and cost a client that resets instead of closing (smtp-source
   * does, for one) an ECONNRESET, which Node makes into an error with a formatted stack: about
   * 1.5 % of smtpd's thread in the maildir bench. A client that does not read our last bytes
   * would keep them from reaching the kernel for ever: after CLOSE_WAIT_MS it is cut.
   */
  end(): void {
    this.flush();
    this.socket.end(() => this.socket.destroy());
    const cut = setTimeout(() => this.socket.destroy(), CLOSE_WAIT_MS);
    cut.unref();
    this.socket.once("close", () => clearTimeout(cut));
  }

  destroy(): void {
    this.socket.destroy();
  }

  /**
   * Asks for a command line: ends at LF, one CR before it removed (qmail's commands.c); `split`
   * keeps credentials apart. `deliver` gets it — at once when a whole line is already buffered,
   * so a pipelined group is answered in one turn. One request at a time.
   */
  requestLine(split: Split, deliver: (result: ReadResult) => void): void {
    this.request(split, deliver);
  }

  /**
   * requestLine for a session machine: the answer goes to `actor` as its input event (LINE,
   * OVERLONG, TIMEOUT, CLOSED) — unless the actor was stopped from outside meanwhile (svc -d),
   * when the socket's close is an event for nobody.
   */
  requestInput(split: Split, actor: AnyActorRef): void {
    this.request(split, actor);
  }

  private request(split: Split, deliver: ((result: ReadResult) => void) | AnyActorRef): void {
    if (this.deliver !== undefined) throw new Error("ClientStream: a line was already asked for");
    this.split = split;
    this.deliver = deliver;
    this.overlong = false;
    this.takeLine();
  }

  /** The next bytes as they came: first what is buffered, then fresh reads. */
  readChunk(): Promise<ChunkResult> {
    if (this.pending.length > 0) return Promise.resolve(this.takePending());
    return new Promise((resolve) => {
      this.chunkReader = resolve;
      this.wait("chunk");
    });
  }

  /** Gives back the bytes after the end of DATA, so the next command sees them. */
  unread(rest: Buffer): void {
    this.pending = this.pending.length === 0 ? rest : Buffer.concat([rest, this.pending]);
  }

  /**
   * STARTTLS: forget everything read so far, then the server side of the handshake. Given
   * `authorities`, the client is asked for a certificate, and the DN of one they issued is
   * returned (any other certificate is not an error: it just earns nothing).
   */
  async startTls(secureContext: SecureContext, authorities?: readonly X509Certificate[]): Promise<{ clientDn: string | undefined }> {
    const requestCert = authorities !== undefined;
    // The 220 goes out in plaintext, before the handshake takes the socket over.
    this.flush();
    this.pending = EMPTY;
    this.detach();
    // Nobody reads during the handshake, and a failed one closes a socket this stream no longer
    // listens to: the next wait starts a new timer.
    clearTimeout(this.timer);
    this.timer = undefined;
    const secure = new TLSSocket(this.socket, { isServer: true, secureContext, requestCert, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => secure.destroy(new Error("TLS handshake timed out")), this.timeoutMs);
      secure.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      secure.once("secure", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    secure.on("error", () => {});
    this.socket = secure;
    this.attach();
    return { clientDn: authorities === undefined ? undefined : trustedClientDn(secure, authorities, Date.now()) };
  }

  /** Serves the line request from the buffer, or waits for more. */
  private takeLine(): void {
    const lf = this.pending.indexOf(LF);
    if (lf !== -1) {
      const end = lf > 0 && this.pending[lf - 1] === CR ? lf - 1 : lf;
      const tooLong = this.overlong || end > MAX_LINE_BYTES;
      const text = tooLong ? "" : this.pending.toString("utf8", 0, end);
      this.pending = lf + 1 === this.pending.length ? EMPTY : this.pending.subarray(lf + 1);
      return this.answer(tooLong ? { kind: "overlong" } : { kind: "line", ...this.split(text) });
    }
    if (this.pending.length > MAX_LINE_BYTES) {
      // Keep nothing of a line that is already too long: the client cannot make us hold more.
      this.overlong = true;
      this.pending = EMPTY;
    }
    this.wait("line");
  }

  private answer(result: ReadResult): void {
    const deliver = this.deliver!;
    this.deliver = undefined;
    this.split = unsplit;
    if (typeof deliver === "function") deliver(result);
    else sendIfActive(deliver, inputEvent(result));
  }

  private takePending(): Buffer {
    const chunk = this.pending;
    this.pending = EMPTY;
    return chunk;
  }

  /** Sends what was written, then waits for bytes from the client, at most timeoutMs. */
  private wait(who: "line" | "chunk"): void {
    if (this.waiting !== undefined) throw new Error("ClientStream: a read is already waiting");
    this.waiting = who;
    if (this.ended) return this.finishWait("closed");
    this.flush();
    if (this.timer === undefined) this.timer = setTimeout(ClientStream.onTimeout, this.timeoutMs, this);
    else this.timer.refresh();
    this.socket.resume();
  }

  // The timer is left running when a wait ends early: the next wait re-arms it, and one that
  // fires while nobody waits does nothing.
  private finishWait(outcome: WaitOutcome): void {
    const who = this.waiting;
    this.waiting = undefined;
    if (who === "line") {
      if (outcome === "data") this.takeLine();
      else this.answer({ kind: outcome });
    } else if (who === "chunk") {
      const reader = this.chunkReader!;
      this.chunkReader = undefined;
      reader(outcome === "data" ? this.takePending() : outcome);
    }
  }

  private flush(): void {
    if (this.outbox === "") return;
    if (!this.socket.destroyed) this.socket.write(this.outbox);
    this.outbox = "";
  }

  private attach(): void {
    (this.socket as FedSocket)[STREAM] = this;
    this.socket.pause();
    this.socket.on("data", ClientStream.onData);
    this.socket.on("end", ClientStream.onEnd);
    this.socket.on("close", ClientStream.onClose);
  }

  private detach(): void {
    this.socket.off("data", ClientStream.onData);
    this.socket.off("end", ClientStream.onEnd);
    this.socket.off("close", ClientStream.onClose);
  }
}

// The byte stream of one SMTP client, read on demand: the session asks for a command line or, in
// DATA, for raw chunks; nothing is read from the socket while nobody asks (the socket stays
// paused, so a client cannot make us buffer more than one chunk ahead). Every wait is bounded by
// timeoutsmtpd. STARTTLS swaps the socket for a TLSSocket and throws away whatever had been read
// but not yet parsed — the plaintext a man in the middle could have appended (security.md §1.2).

import type { Socket } from "node:net";
import type { X509Certificate } from "node:crypto";
import { TLSSocket, type SecureContext } from "node:tls";
import type { ReadResult } from "../../../machines/smtp-session.js";
import type { SplitLine } from "../../../machines/smtp-syntax.js";
import { trustedClientDn } from "./client-certificate.js";

/** Longest command line (AUTH responses included) before the rest of the line is discarded. */
export const MAX_LINE_BYTES = 2048;

const LF = 0x0a;
const CR = 0x0d;

export type ChunkResult = Buffer | "timeout" | "closed";

export class ClientStream {
  private pending: Buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | undefined;
  private readonly onData = (chunk: Buffer): void => {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.socket.pause();
    this.wake?.();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake?.();
  };

  constructor(
    private socket: Socket,
    private readonly timeoutMs: number,
  ) {
    this.attach();
  }

  get secure(): boolean {
    return this.socket instanceof TLSSocket;
  }

  write(text: string): void {
    if (!this.socket.destroyed) this.socket.write(`${text}\r\n`);
  }

  /** Raw bytes (POP3's message bodies); resolves once the socket can take more, so a slow reader holds back the writer. */
  writeBytes(bytes: Uint8Array): Promise<void> {
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

  /** Flushes what was written, then closes. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** A command line: ends at LF, one CR before it removed (qmail's commands.c); `split` keeps credentials apart. */
  async readLine(split: (line: string) => SplitLine = (text) => ({ text })): Promise<ReadResult> {
    let overlong = false;
    for (;;) {
      const lf = this.pending.indexOf(LF);
      if (lf !== -1) {
        const end = lf > 0 && this.pending[lf - 1] === CR ? lf - 1 : lf;
        const text = this.pending.toString("utf8", 0, end);
        this.pending = this.pending.subarray(lf + 1);
        return overlong || end > MAX_LINE_BYTES ? { kind: "overlong" } : { kind: "line", ...split(text) };
      }
      if (this.pending.length > MAX_LINE_BYTES) {
        // Keep nothing of a line that is already too long: the client cannot make us hold more.
        overlong = true;
        this.pending = Buffer.alloc(0);
      }
      const waited = await this.more();
      if (waited !== undefined) return { kind: waited };
    }
  }

  /** The next bytes as they came: first what is buffered, then fresh reads. */
  async readChunk(): Promise<ChunkResult> {
    if (this.pending.length === 0) {
      const waited = await this.more();
      if (waited !== undefined) return waited;
    }
    const chunk = this.pending;
    this.pending = Buffer.alloc(0);
    return chunk;
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
    this.pending = Buffer.alloc(0);
    this.detach();
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

  private attach(): void {
    this.socket.pause();
    this.socket.on("data", this.onData);
    this.socket.on("end", this.onEnd);
    this.socket.on("close", this.onEnd);
  }

  private detach(): void {
    this.socket.off("data", this.onData);
    this.socket.off("end", this.onEnd);
    this.socket.off("close", this.onEnd);
  }

  /** Waits for a chunk; says why there is none. */
  private more(): Promise<"timeout" | "closed" | undefined> {
    if (this.ended) return Promise.resolve("closed");
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish("timeout"), this.timeoutMs);
      const finish = (result: "timeout" | "closed" | undefined): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(result);
      };
      this.wake = () => finish(this.ended && this.pending.length === 0 ? "closed" : undefined);
      this.socket.resume();
    });
  }
}

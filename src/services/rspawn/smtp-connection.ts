// One outgoing SMTP connection, as the remote-delivery machine's side effects use it: write a
// command line, or several in one write (PIPELINING), read replies (multi-line replies to their
// last line), write the message, start TLS (or begin in TLS: SMTPS), say QUIT. Every read and
// write is bounded by timeoutremote; a timeout, a dropped connection or a server that floods one
// reply ends the connection, and the pending call rejects (the machine calls that "connection
// died"). Certificates are checked only when a CA is given (control/tlsdestinations). A QMTP
// delivery uses the same connection for its package and reads netstring replies instead.
// Reads and writes: the network, through src/io/net.ts (fault points) and node:tls.

import type { Socket } from "node:net";
import { checkServerIdentity, connect as tlsConnect, type PeerCertificate } from "node:tls";
import type { Destination, Reply } from "../../../machines/remote-delivery.js";
import { connect } from "../../io/net.js";
import { NetstringCollector } from "../../net/netstring.js";

/** qmail-remote keeps at most this much of a reply for the report. */
const REPLY_TEXT_LIMIT = 5000;
/** A line (or a reply) longer than this is a broken or hostile server, not a reply to wait out. */
const READ_LIMIT = 1 << 20;

export interface ConnectionSettings {
  readonly site: string;
  readonly timeoutConnectMs: number;
  readonly timeoutRemoteMs: number;
  /** control/outgoingip. */
  readonly localAddress?: string | undefined;
}

/** How TLS is to be checked: a CA to verify against (and the name to find), else any certificate. */
export interface TlsCheck {
  /** SNI; never an IP address. */
  readonly servername: string | undefined;
  readonly ca: Buffer | undefined;
  /** The name the certificate must carry when `ca` is given. */
  readonly name: string;
}

export class SmtpConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly onData = (chunk: Buffer): void => {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    if (this.buffered.length > READ_LIMIT) this.fail(new Error(`reply longer than ${READ_LIMIT} bytes`));
    this.wake();
  };

  private constructor(
    private socket: Socket,
    private readonly settings: ConnectionSettings,
  ) {
    this.listen();
  }

  /**
   * A connection to `destination` — in TLS from the start for SMTPS — or a rejection with the
   * system's error (code ETIMEDOUT when timeoutconnect passed).
   */
  static async open(destination: Destination, settings: ConnectionSettings, check: TlsCheck): Promise<SmtpConnection> {
    const socket = await connect({ site: settings.site, host: destination.ip, port: destination.port, timeoutMs: settings.timeoutConnectMs, localAddress: settings.localAddress });
    const connection = new SmtpConnection(socket, settings);
    if (destination.implicitTls) await connection.startTls(check);
    return connection;
  }

  /** Still open, with nothing unread: fit to carry another transaction. */
  get reusable(): boolean {
    return this.failure === undefined && !this.socket.destroyed && this.buffered.length === 0;
  }

  /** Writes `line` with CR LF if given, then reads one reply. */
  async exchange(line: string | undefined): Promise<Reply> {
    if (line !== undefined) await this.write(Buffer.from(`${line}\r\n`, "utf8"));
    return this.readReply();
  }

  /** Writes every line in one write (RFC 2920 §3.1), then reads one reply per line, in order. */
  async exchangeAll(lines: readonly string[]): Promise<Reply[]> {
    await this.write(Buffer.from(lines.map((line) => `${line}\r\n`).join(""), "utf8"));
    const replies: Reply[] = [];
    for (let i = 0; i < lines.length; i++) replies.push(await this.readReply());
    return replies;
  }

  /** QMTP: reads `count` reply netstrings (each at most REPLY_TEXT_LIMIT bytes); rejects on a malformed one. */
  async readNetstrings(count: number): Promise<string[]> {
    const collector = new NetstringCollector(REPLY_TEXT_LIMIT);
    const replies: string[] = [];
    for (;;) {
      if (this.buffered.length > 0) {
        const chunk = this.buffered;
        this.buffered = Buffer.alloc(0);
        for (const payload of collector.push(chunk)) replies.push(payload.toString("utf8"));
      }
      if (replies.length >= count) return replies.slice(0, count);
      await this.moreData();
    }
  }

  private async readReply(): Promise<Reply> {
    const lines: string[] = [];
    let textBytes = 0;
    let code: number | undefined;
    for (;;) {
      const text = (await this.readLine()).replace(/\r/g, "");
      code ??= /^\d{3}/.test(text) ? Number(text.slice(0, 3)) : 0;
      if (textBytes < REPLY_TEXT_LIMIT) {
        const kept = text.slice(0, REPLY_TEXT_LIMIT - textBytes);
        lines.push(kept);
        textBytes += Buffer.byteLength(kept) + 1;
      }
      if (text.charAt(3) !== "-") return { code, text: lines.join("\n") };
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.check();
    await this.bounded(
      "write",
      new Promise<void>((resolve, reject) => this.socket.write(bytes, (error) => (error ? reject(error) : resolve()))),
    );
  }

  /**
   * Replaces the socket by a TLS one over it. What the server sent after its 220 and before the
   * handshake is dropped unread: it came in the clear, so a man in the middle may have put it
   * there to be taken as replies inside TLS (security.md §1.2).
   */
  async startTls(check: TlsCheck): Promise<void> {
    this.check();
    this.socket.off("data", this.onData);
    this.buffered = Buffer.alloc(0);
    // Without a CA (opportunistic TLS, as s/qmail's default), any certificate is taken.
    const secure = tlsConnect({
      socket: this.socket,
      rejectUnauthorized: check.ca !== undefined,
      ...(check.ca === undefined ? {} : { ca: check.ca, checkServerIdentity: (_: string, cert: PeerCertificate) => checkServerIdentity(check.name, cert) }),
      ...(check.servername === undefined ? {} : { servername: check.servername }),
    });
    this.socket = secure;
    await this.bounded(
      "TLS handshake",
      new Promise<void>((resolve, reject) => {
        secure.once("secureConnect", resolve);
        secure.once("error", reject);
      }),
    );
    this.listen();
  }

  /** QUIT without waiting for the reply; the socket is closed once the line is written. */
  quit(): void {
    if (this.failure !== undefined || this.socket.destroyed) return this.close();
    this.socket.write("QUIT\r\n", () => this.close());
  }

  close(): void {
    this.socket.destroy();
  }

  private listen(): void {
    this.socket.on("data", this.onData);
    this.socket.on("error", (error) => this.fail(error));
    this.socket.on("close", () => this.fail(new Error("connection closed")));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.socket.destroy();
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async readLine(): Promise<string> {
    for (;;) {
      const end = this.buffered.indexOf(0x0a);
      if (end !== -1) {
        const line = this.buffered.subarray(0, end).toString("utf8");
        this.buffered = this.buffered.subarray(end + 1);
        return line;
      }
      await this.moreData();
    }
  }

  /** Waits (within timeoutremote) until more bytes arrive; rejects once the connection has failed. */
  private async moreData(): Promise<void> {
    this.check();
    await this.bounded("read", new Promise<void>((resolve) => (this.waiting = resolve)));
  }

  /** `work`, or a rejection (and the connection closed) once timeoutremote passes. */
  private async bounded<T>(what: string, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`${what} timed out after ${this.settings.timeoutRemoteMs} ms`);
        this.fail(error);
        reject(error);
      }, this.settings.timeoutRemoteMs);
    });
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

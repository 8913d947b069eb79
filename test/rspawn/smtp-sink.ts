// A small SMTP server on loopback for rspawn's tests: it answers each stage with a reply the
// test chooses (the greeting, RCPT per address, the reply after the data) and records every byte
// each connection sent, so a test can see exactly what went over the wire — the dot-stuffing,
// the CR LF line ends, how many end-of-data sequences a message produced, which commands came in
// one segment (PIPELINING), and which connection carried which transaction (reuse). It reads the
// data the strict way (only CR LF . CR LF ends it), so a smuggled command would show up as a
// command. Optionally it speaks TLS (STARTTLS, or from the first byte as SMTPS) with a given
// certificate, and AUTH PLAIN/LOGIN for one user.

import { createServer, type Server, type Socket } from "node:net";
import { TLSSocket, type SecureContext } from "node:tls";

export interface SinkPolicy {
  readonly greeting?: string;
  /** Keywords of the EHLO reply, after its first line; "refuse" answers EHLO with 500, so HELO follows. */
  readonly ehlo?: readonly string[] | "refuse";
  readonly rcpt?: (address: string) => string;
  readonly afterData?: string;
  /** Close the connection right after the final dot, without a reply. */
  readonly dropAfterDot?: boolean;
  /** TLS with this certificate: offered as STARTTLS, or (implicit) from the first byte. */
  readonly tls?: { readonly context: SecureContext; readonly implicit?: boolean };
  /** AUTH PLAIN and LOGIN offered (once in TLS, when TLS is set), for this user only. */
  readonly auth?: { readonly user: string; readonly pass: string };
  /** The reply to RSET; a 421 also closes the connection (a server that will not go on). */
  readonly rset?: string;
  /** RCPTs taken per transaction; the ones after get 452 (too many recipients). */
  readonly maxRcpts?: number;
}

export interface SinkConnection {
  /** The client's address. */
  readonly peer: string;
  /** The command lines (outside DATA) this connection sent. */
  readonly commands: string[];
  /** What arrived in each read, as it arrived. */
  readonly chunks: string[];
  tls: boolean;
  authenticated: string | undefined;
  closed: boolean;
}

export interface SmtpSink {
  readonly port: number;
  /** Each connection's bytes from the client, in arrival order. */
  readonly transcripts: string[];
  /** Each command line the server read (outside DATA), across connections. */
  readonly commands: string[];
  /** Each message body received (dot-stuffing undone, CR LF kept). */
  readonly messages: string[];
  readonly connections: SinkConnection[];
  close(): Promise<void>;
}

function multiline(lines: readonly string[]): string {
  return lines.map((line, i) => `250${i === lines.length - 1 ? " " : "-"}${line}`).join("\r\n");
}

const decode = (text: string): string => Buffer.from(text, "base64").toString("utf8");

export async function startSmtpSink(host: string, policy: SinkPolicy = {}, port = 0): Promise<SmtpSink> {
  const transcripts: string[] = [];
  const commands: string[] = [];
  const messages: string[] = [];
  const connections: SinkConnection[] = [];
  const sockets = new Set<Socket>();

  const session = (raw: Socket): void => {
    sockets.add(raw);
    raw.on("error", () => {});
    const index = transcripts.push("") - 1;
    const connection: SinkConnection = { peer: raw.remoteAddress ?? "", commands: [], chunks: [], tls: false, authenticated: undefined, closed: false };
    connections.push(connection);
    raw.on("close", () => {
      sockets.delete(raw);
      connection.closed = true;
    });
    let socket: Socket = raw;
    let buffer = "";
    let inData = false;
    let body: string[] = [];
    let login: string[] | undefined;
    let rcpts = 0;
    let accepted = 0;
    const reply = (text: string): void => void socket.write(`${text}\r\n`);
    const authOffered = (): boolean => policy.auth !== undefined && (policy.tls === undefined || connection.tls);
    const checkAuth = (user: string, pass: string): void => {
      if (user === policy.auth?.user && pass === policy.auth.pass) {
        connection.authenticated = user;
        reply("235 2.7.0 authenticated");
      } else reply("535 5.7.8 bad credentials");
    };

    const onLine = (line: string): void => {
      if (inData) {
        if (line === ".") {
          inData = false;
          messages.push(body.join(""));
          body = [];
          if (policy.dropAfterDot) return void socket.destroy();
          reply(policy.afterData ?? "250 ok queued as 1");
        } else body.push(`${line.startsWith(".") ? line.slice(1) : line}\r\n`);
        return;
      }
      commands.push(line);
      connection.commands.push(line);
      if (login !== undefined) {
        login.push(decode(line));
        if (login.length === 1) return reply("334 UGFzc3dvcmQ6");
        const [user = "", pass = ""] = login;
        login = undefined;
        return checkAuth(user, pass);
      }
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === "EHLO") {
        if (policy.ehlo === "refuse") return reply("500 unrecognised");
        const keywords = [...(policy.ehlo ?? ["PIPELINING", "8BITMIME"])];
        if (policy.tls !== undefined && !connection.tls) keywords.push("STARTTLS");
        if (authOffered()) keywords.push("AUTH PLAIN LOGIN");
        reply(multiline(["sink.test", ...keywords]));
      } else if (verb === "HELO") reply("250 sink.test");
      else if (verb === "STAR" && policy.tls !== undefined && !connection.tls) {
        reply("220 go ahead");
        startTls();
      } else if (verb === "AUTH" && authOffered()) {
        const [, mechanism = "", initial] = line.split(" ");
        if (mechanism.toUpperCase() === "PLAIN" && initial !== undefined) {
          const [, user = "", pass = ""] = decode(initial).split("\0");
          checkAuth(user, pass);
        } else if (mechanism.toUpperCase() === "LOGIN") {
          login = [];
          reply("334 VXNlcm5hbWU6");
        } else reply("504 unsupported");
      } else if (verb === "MAIL") {
        rcpts = 0;
        accepted = 0;
        reply("250 ok");
      } else if (verb === "RCPT") {
        if (++rcpts > (policy.maxRcpts ?? Infinity)) return reply("452 4.5.3 too many recipients");
        const answer = policy.rcpt?.(/<(.*)>/.exec(line)?.[1] ?? "") ?? "250 ok";
        if (answer < "4") accepted += 1;
        reply(answer);
      } else if (verb === "RSET") {
        reply(policy.rset ?? "250 reset");
        if (policy.rset?.startsWith("421")) socket.end();
      }
      else if (verb === "DATA") {
        // As Postfix's smtpd: no DATA without a recipient (a pipelining client sends it regardless).
        if (accepted === 0) return reply("554 5.5.1 no valid recipients");
        inData = true;
        reply("354 go ahead");
      } else if (verb === "QUIT") {
        reply("221 bye");
        socket.end();
      } else reply("502 unimplemented");
    };

    const onData = (chunk: Buffer): void => {
      const text = chunk.toString("latin1");
      transcripts[index] += text;
      connection.chunks.push(text);
      buffer += text;
      for (let end = buffer.indexOf("\r\n"); end !== -1; end = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        onLine(line);
      }
    };

    const startTls = (): void => {
      socket.off("data", onData);
      buffer = "";
      const secure = new TLSSocket(socket, { isServer: true, secureContext: policy.tls!.context });
      secure.on("error", () => {});
      secure.on("secure", () => (connection.tls = true));
      secure.on("data", onData);
      socket = secure;
    };

    if (policy.tls?.implicit) {
      startTls();
      socket.once("secure", () => reply(policy.greeting ?? "220 sink.test ESMTP"));
    } else {
      socket.on("data", onData);
      reply(policy.greeting ?? "220 sink.test ESMTP");
    }
  };

  const server: Server = createServer(session);
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    transcripts,
    commands,
    messages,
    connections,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// A small SMTP server on loopback for rspawn's tests: it answers each stage with a reply the
// test chooses (the greeting, RCPT per address, the reply after the data) and records every byte
// each connection sent, so a test can see exactly what went over the wire — the dot-stuffing,
// the CR LF line ends, and how many end-of-data sequences a message produced. It reads the data
// the strict way (only CR LF . CR LF ends it), so a smuggled command would show up as a command.

import { createServer, type Server, type Socket } from "node:net";

export interface SinkPolicy {
  readonly greeting?: string;
  /** Keywords of the EHLO reply, after its first line; "refuse" answers EHLO with 500, so HELO follows. */
  readonly ehlo?: readonly string[] | "refuse";
  readonly rcpt?: (address: string) => string;
  readonly afterData?: string;
  /** Close the connection right after the final dot, without a reply. */
  readonly dropAfterDot?: boolean;
}

export interface SmtpSink {
  readonly port: number;
  /** Each connection's bytes from the client, in arrival order. */
  readonly transcripts: string[];
  /** Each command line the server read (outside DATA), across connections. */
  readonly commands: string[];
  /** Each message body received (dot-stuffing undone, CR LF kept). */
  readonly messages: string[];
  close(): Promise<void>;
}

function multiline(lines: readonly string[]): string {
  return lines.map((line, i) => `250${i === lines.length - 1 ? " " : "-"}${line}`).join("\r\n");
}

export async function startSmtpSink(host: string, policy: SinkPolicy = {}, port = 0): Promise<SmtpSink> {
  const transcripts: string[] = [];
  const commands: string[] = [];
  const messages: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const index = transcripts.push("") - 1;
    let buffer = "";
    let inData = false;
    let body: string[] = [];
    const reply = (text: string): void => void socket.write(`${text}\r\n`);
    reply(policy.greeting ?? "220 sink.test ESMTP");
    socket.on("data", (chunk: Buffer) => {
      const text = chunk.toString("latin1");
      transcripts[index] += text;
      buffer += text;
      for (let end = buffer.indexOf("\r\n"); end !== -1; end = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            messages.push(body.join(""));
            body = [];
            if (policy.dropAfterDot) return void socket.destroy();
            reply(policy.afterData ?? "250 ok queued as 1");
          } else body.push(`${line.startsWith(".") ? line.slice(1) : line}\r\n`);
          continue;
        }
        commands.push(line);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") reply(policy.ehlo === "refuse" ? "500 unrecognised" : multiline(["sink.test", ...(policy.ehlo ?? ["PIPELINING", "8BITMIME"])]));
        else if (verb === "HELO") reply("250 sink.test");
        else if (verb === "MAIL") reply("250 ok");
        else if (verb === "RCPT") reply(policy.rcpt?.(/<(.*)>/.exec(line)?.[1] ?? "") ?? "250 ok");
        else if (verb === "DATA") {
          inData = true;
          reply("354 go ahead");
        } else if (verb === "QUIT") {
          reply("221 bye");
          socket.end();
        } else reply("502 unimplemented");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    transcripts,
    commands,
    messages,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

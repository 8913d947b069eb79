// The remote end of a chaos run: an SMTP server on loopback that accepts everything and counts,
// per X-Chaos-Id, the messages it took (a 250 after the final dot). rspawn delivers to it through
// smtproutes, so remote deliveries can be checked against what smtpd promised.

import { createServer, type Server, type Socket } from "node:net";

export interface SmtpSink {
  readonly port: number;
  /** How many times each chaos id was received. */
  readonly received: Map<string, number>;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const received = new Map<string, number>();
  const open = new Set<Socket>();
  const server: Server = createServer((socket) => {
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    let buffered = "";
    let inData = false;
    socket.on("error", () => socket.destroy());
    socket.write("220 sink.test ESMTP chaos sink\r\n");
    socket.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("latin1");
      for (;;) {
        if (inData) {
          const end = buffered.indexOf("\r\n.\r\n");
          if (end < 0) return;
          const data = buffered.slice(0, end);
          buffered = buffered.slice(end + 5);
          inData = false;
          for (const match of data.matchAll(/^X-Chaos-Id: (\S+)/gm)) received.set(match[1]!, (received.get(match[1]!) ?? 0) + 1);
          socket.write("250 ok\r\n");
          continue;
        }
        const end = buffered.indexOf("\r\n");
        if (end < 0) return;
        const verb = buffered.slice(0, end).slice(0, 4).toUpperCase();
        buffered = buffered.slice(end + 2);
        if (verb === "DATA") {
          inData = true;
          // The terminator search starts at the data: the blank line before it is not there yet.
          buffered = `\r\n${buffered}`;
          socket.write("354 go ahead\r\n");
        } else if (verb === "QUIT") socket.end("221 bye\r\n");
        else socket.write("250 ok\r\n");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    received,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}

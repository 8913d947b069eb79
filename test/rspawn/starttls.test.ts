// STARTTLS on the client side against a real TLS server on loopback (a self-signed certificate):
// the session moves into TLS, and bytes a man in the middle put after the server's 220 — in the
// clear, before the handshake — are never read as replies inside TLS (security.md §1.2).

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TLSSocket, createSecureContext } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureServerCertificate } from "../../src/root/server-certificate.js";
import { SmtpConnection } from "../../src/services/rspawn/smtp-connection.js";

const anyCertificate = { servername: "sink.test", ca: undefined, name: "sink.test" };
let dir: string;
let server: Server;
let port: number;
const encrypted: boolean[] = [];

/** One line at a time from `socket`, to `answer`. */
function lines(socket: Socket | TLSSocket, answer: (line: string) => void): void {
  let buffer = "";
  const onData = (chunk: Buffer): void => {
    buffer += chunk.toString("latin1");
    for (let end = buffer.indexOf("\r\n"); end !== -1; end = buffer.indexOf("\r\n")) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      answer(line);
    }
  };
  socket.on("data", onData);
  (socket as Socket & { stopLines?: () => void }).stopLines = () => socket.off("data", onData);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tsqmail-tls-"));
  await ensureServerCertificate(dir, "sink.test");
  const pem = readFileSync(join(dir, "servercert.pem"));
  const secureContext = createSecureContext({ key: pem, cert: pem });
  server = createServer((socket) => {
    socket.on("error", () => {});
    socket.write("220 sink.test ESMTP\r\n");
    lines(socket, (line) => {
      if (line.startsWith("EHLO")) socket.write("250-sink.test\r\n250 STARTTLS\r\n");
      else if (line === "STARTTLS") {
        (socket as Socket & { stopLines: () => void }).stopLines();
        // The injected reply rides in the same segment as the 220, as a MITM would put it.
        socket.write("220 go ahead\r\n250 injected before TLS\r\n", () => {
          const secure = new TLSSocket(socket, { isServer: true, secureContext });
          secure.on("error", () => {});
          secure.on("secure", () => encrypted.push(true));
          lines(secure, (inner) => {
            if (inner.startsWith("EHLO")) secure.write("250 sink.test inside TLS\r\n");
          });
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe("SmtpConnection.startTls", () => {
  it("discards what came after the 220 and reads the first reply from inside TLS", async () => {
    const connection = await SmtpConnection.open({ ip: "127.0.0.1", port, implicitTls: false }, { site: "test", timeoutConnectMs: 2000, timeoutRemoteMs: 5000 }, anyCertificate);
    expect((await connection.exchange(undefined)).code).toBe(220);
    expect((await connection.exchange("EHLO me.test")).text).toBe("250-sink.test\n250 STARTTLS");
    expect(await connection.exchange("STARTTLS")).toEqual({ code: 220, text: "220 go ahead" });
    await connection.startTls(anyCertificate);
    expect(await connection.exchange("EHLO me.test")).toEqual({ code: 250, text: "250 sink.test inside TLS" });
    expect(encrypted).toEqual([true]);
    connection.quit();
  }, 15_000);
});

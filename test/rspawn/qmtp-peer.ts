// A QMTP server on loopback for rspawn's tests: it reads packages (message, sender, recipient
// list — three netstrings, parsed here by hand so the test does not trust the codec it tests
// with), records them, and answers one netstring per recipient: D for addresses the test
// refuses, else K. It can also drop the connection once a package has arrived, without replying.

import { createServer, type Server, type Socket } from "node:net";

export interface QmtpPackage {
  /** The message netstring's payload, its leading LF/CR convention byte included. */
  readonly message: Buffer;
  readonly sender: string;
  readonly recipients: string[];
}

export interface QmtpPeer {
  readonly port: number;
  readonly packages: QmtpPackage[];
  close(): Promise<void>;
}

/** The netstring at `at` in `bytes`: its payload and where the next one starts, or undefined if incomplete. */
function netstringAt(bytes: Buffer, at: number): { payload: Buffer; next: number } | undefined {
  const colon = bytes.indexOf(0x3a, at);
  if (colon === -1) return undefined;
  const length = Number(bytes.subarray(at, colon).toString("latin1"));
  const end = colon + 1 + length;
  if (bytes.length <= end) return undefined;
  if (bytes[end] !== 0x2c) throw new Error("missing comma");
  return { payload: bytes.subarray(colon + 1, end), next: end + 1 };
}

function parsePackage(bytes: Buffer): { pkg: QmtpPackage; used: number } | undefined {
  const message = netstringAt(bytes, 0);
  const sender = message && netstringAt(bytes, message.next);
  const list = sender && netstringAt(bytes, sender.next);
  if (message === undefined || sender === undefined || list === undefined) return undefined;
  const recipients: string[] = [];
  for (let at = 0; at < list.payload.length; ) {
    const one = netstringAt(list.payload, at)!;
    recipients.push(one.payload.toString("utf8"));
    at = one.next;
  }
  return { pkg: { message: Buffer.from(message.payload), sender: sender.payload.toString("utf8"), recipients }, used: list.next };
}

const netstring = (text: string): string => `${Buffer.byteLength(text)}:${text},`;

export async function startQmtpPeer(options: { refuse?: (address: string) => boolean; dropAfterPackage?: boolean } = {}): Promise<QmtpPeer> {
  const packages: QmtpPackage[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (let parsed = parsePackage(buffer); parsed !== undefined; parsed = parsePackage(buffer)) {
        buffer = buffer.subarray(parsed.used);
        packages.push(parsed.pkg);
        if (options.dropAfterPackage) return void socket.destroy();
        socket.write(parsed.pkg.recipients.map((address) => netstring(options.refuse?.(address) ? "Dsorry, no mailbox here by that name (#5.1.1)" : `Kok 1700000000 qp ${packages.length}`)).join(""));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    packages,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

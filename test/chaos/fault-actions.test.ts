// The fault seam's actions, carried out on real sockets and a real DNS lookup on loopback: a
// delayed write arrives late and whole, a delayed read reaches the reader late and in order, a
// truncated write gets its first bytes to the peer and then a reset, and a slow DNS server answers
// late — or, past the lookup's deadline, reads as a timeout.

import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createDns } from "../../src/io/dns.js";
import { setFaultHook, type FaultAction, type FaultPoint } from "../../src/io/faults.js";
import { connect } from "../../src/io/net.js";
import { startLoopbackDns } from "../net/loopback-dns.js";

/** Hooks `action` onto the first passage of seam/op at site "test"; later passages go ahead. */
function once(seam: FaultPoint["seam"], op: string, action: FaultAction): void {
  let done = false;
  setFaultHook((point) => {
    if (done || point.seam !== seam || point.site !== "test" || point.op !== op) return;
    done = true;
    return action;
  });
}

/** A loopback server that collects what each connection sends it, and how it ended. */
async function collector(): Promise<{ server: Server; port: number; peer: Promise<{ data: string; firstAt: number; ended: string }> }> {
  let resolvePeer!: (peer: { data: string; firstAt: number; ended: string }) => void;
  const peer = new Promise<{ data: string; firstAt: number; ended: string }>((resolve) => (resolvePeer = resolve));
  const server = createServer((socket) => {
    let data = "";
    let firstAt = 0;
    socket.on("data", (chunk) => {
      firstAt ||= Date.now();
      data += chunk.toString();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => resolvePeer({ data, firstAt, ended: error.code ?? "error" }));
    socket.on("end", () => resolvePeer({ data, firstAt, ended: "end" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { server, port: address.port, peer };
}

const open = (port: number): Promise<Socket> => connect({ site: "test", host: "127.0.0.1", port, timeoutMs: 2000 });

afterEach(() => setFaultHook(undefined));

describe("socket fault actions", () => {
  it("a delayed write reaches the peer late, whole and in order", async () => {
    const { server, port, peer } = await collector();
    const socket = await open(port);
    once("net", "write", { delayMs: 300 });
    const sent = Date.now();
    socket.write("first ");
    socket.end("second\r\n");
    const got = await peer;
    expect(got.data).toBe("first second\r\n");
    expect(got.ended).toBe("end");
    expect(got.firstAt - sent).toBeGreaterThanOrEqual(280);
    server.close();
  });

  it("a delayed read reaches the reader late and in order", async () => {
    let accepted!: (socket: Socket) => void;
    const remote = new Promise<Socket>((resolve) => (accepted = resolve));
    const server = createServer(accepted);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const socket = await open((server.address() as { port: number }).port);
    once("net", "read", { delayMs: 300 });
    const received: string[] = [];
    socket.on("data", (chunk) => received.push(chunk.toString()));
    const ended = new Promise<number>((resolve) => socket.on("end", () => resolve(Date.now())));
    const peer = await remote;
    const sent = Date.now();
    peer.write("one ");
    setTimeout(() => peer.end("two"), 50);
    const endedAt = await ended;
    expect(received.join("")).toBe("one two");
    expect(endedAt - sent).toBeGreaterThanOrEqual(280);
    socket.destroy();
    server.close();
  });

  it("a truncated write gets its first bytes to the peer, then the connection is reset", async () => {
    const { server, port, peer } = await collector();
    const socket = await open(port);
    once("net", "write", { truncateAfter: 4 });
    const writeError = new Promise<NodeJS.ErrnoException | null | undefined>((resolve) => socket.write("HELO example.test\r\n", resolve));
    socket.on("error", () => {});
    const got = await peer;
    expect(got.data).toBe("HELO");
    // Linux reports a reset that comes after unread data as the end of the stream.
    expect(["ECONNRESET", "end"]).toContain(got.ended);
    expect((await writeError)?.code).toBe("ECONNRESET");
    expect(socket.destroyed).toBe(true);
    server.close();
  });
});

describe("DNS fault actions", () => {
  it("a slow server answers late, and past the deadline the lookup times out", async () => {
    const server = await startLoopbackDns({ "example.test": [{ mx: "mx.example.test", preference: 10 }] });
    try {
      const dns = createDns({ site: "test", servers: [server.server], timeoutMs: 1000 });
      once("dns", "mx", { delayMs: 400 });
      const asked = Date.now();
      expect(await dns.mx("example.test")).toEqual([{ preference: 10, exchange: "mx.example.test" }]);
      expect(Date.now() - asked).toBeGreaterThanOrEqual(380);
      expect(server.queries()).toBe(1);

      once("dns", "mx", { delayMs: 1500 });
      await expect(dns.mx("example.test")).rejects.toMatchObject({ code: "ETIMEOUT" });
    } finally {
      await server.close();
    }
  });
});

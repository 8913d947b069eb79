// The client stream on a real loopback socket: a pipelined group of commands is answered in one
// write, a lone command's reply goes out before the stream waits for the next, a buffered line is
// handed over at once (that is what lets a session answer a whole group in one turn), every
// wait ends by the stream's timeout when the client says nothing, and the end closes the
// connection whole without waiting for the client's side.

import { connect, createServer, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import type { ReadResult } from "../../machines/line-input.js";
import { ClientStream } from "../../src/services/smtpd/client-stream.js";
import { waitFor } from "../runtime/test-root.js";

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** A server whose one connection is served by `serve`; the client socket, connected. */
async function pair(timeoutMs: number, serve: (stream: ClientStream, socket: Socket) => void, allowHalfOpen = false): Promise<Socket> {
  const server = createServer((socket) => serve(new ClientStream(socket, timeoutMs), socket));
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  const client = connect({ port, host: "127.0.0.1", allowHalfOpen });
  await once(client, "connect");
  return client;
}

/** Answers `250 <line>` to each line and `221` to QUIT, as a session does: ask, answer, ask again. */
function echo(stream: ClientStream): void {
  stream.requestLine((text) => ({ text }), (result) => {
    if (result.kind !== "line") return stream.end();
    if (result.text === "QUIT") {
      stream.write("221 bye");
      return stream.end();
    }
    stream.write(`250 ${result.text}`);
    echo(stream);
  });
}

/** Every chunk the client reads until the server closes. */
function chunksUntilClose(client: Socket): { chunks: string[]; closed: Promise<unknown> } {
  const chunks: string[] = [];
  client.on("data", (chunk: Buffer) => chunks.push(chunk.toString("latin1")));
  return { chunks, closed: once(client, "close") };
}

describe("client stream", () => {
  it("answers a pipelined group in one write, after the last of its lines", async () => {
    const client = await pair(10_000, echo);
    const { chunks, closed } = chunksUntilClose(client);
    client.write("NOOP\r\nRSET\r\nHELP\r\nQUIT\r\n");
    await closed;
    expect(chunks).toEqual(["250 NOOP\r\n250 RSET\r\n250 HELP\r\n221 bye\r\n"]);
  });

  it("sends a reply before it waits for the next line", async () => {
    const client = await pair(10_000, echo);
    const { chunks, closed } = chunksUntilClose(client);
    client.write("NOOP\r\n");
    // The server is now waiting for a line: its answer to NOOP must already be on the wire.
    await waitFor(() => chunks.join("") === "250 NOOP\r\n", 10_000, "the reply to NOOP");
    client.write("QUIT\r\n");
    await closed;
    expect(chunks.join("")).toBe("250 NOOP\r\n221 bye\r\n");
  });

  it("hands over a buffered line at once, and waits for one that has not come", async () => {
    const seen: string[] = [];
    const client = await pair(10_000, (stream) => {
      stream.requestLine((text) => ({ text }), (first) => {
        seen.push(first.kind === "line" ? first.text : first.kind);
        let answered = false;
        stream.requestLine((text) => ({ text }), (second) => {
          answered = true;
          seen.push(second.kind === "line" ? second.text : second.kind);
          let third = false;
          stream.requestLine((text) => ({ text }), (result) => {
            third = true;
            seen.push(result.kind === "line" ? result.text : result.kind);
            stream.end();
          });
          // Nothing more is buffered: the third line is waited for.
          seen.push(third ? "third at once" : "waiting");
        });
        // "B" came in the same chunk as "A": it is delivered within the request.
        seen.push(answered ? "second at once" : "second later");
      });
    });
    const { closed } = chunksUntilClose(client);
    client.write("A\r\nB\r\n");
    await waitFor(() => seen.includes("waiting"), 10_000, "the third request");
    client.write("C\r\n");
    await closed;
    expect(seen).toEqual(["A", "B", "waiting", "second at once", "C"]);
  });

  it("ends each wait by its timeout when the client is silent, and reads on after one", async () => {
    const results: ReadResult[] = [];
    const client = await pair(300, (stream) => {
      const ask = (): void =>
        stream.requestLine((text) => ({ text }), (result) => {
          results.push(result);
          if (results.length < 3) ask();
          else stream.end();
        });
      ask();
    });
    const { closed } = chunksUntilClose(client);
    await waitFor(() => results.length === 1, 10_000, "the first timeout");
    client.write("LATE\r\n");
    await closed;
    expect(results).toEqual([{ kind: "timeout" }, { kind: "line", text: "LATE" }, { kind: "timeout" }]);
  });

  it("refuses a second line request while one is waiting", async () => {
    let refusal: unknown;
    const client = await pair(10_000, (stream) => {
      stream.requestLine((text) => ({ text }), () => stream.end());
      try {
        stream.requestLine((text) => ({ text }), () => {});
      } catch (error) {
        refusal = error;
      }
    });
    const { closed } = chunksUntilClose(client);
    await waitFor(() => refusal !== undefined, 10_000, "the refusal");
    client.write("X\r\n");
    await closed;
    expect(String(refusal)).toMatch(/already asked for/);
  });

  it("closes the connection whole once the last reply is out, though the client keeps its side open", async () => {
    let served: Socket | undefined;
    const client = await pair(
      10_000,
      (stream, socket) => {
        served = socket;
        echo(stream);
      },
      true,
    );
    const { chunks } = chunksUntilClose(client);
    client.on("error", () => {});
    const clientEnded = once(client, "end");
    client.write("QUIT\r\n");
    await clientEnded;
    // The client has not closed its side; the server's socket is gone all the same, well before
    // the 5 s that a client not reading the last reply is given.
    await waitFor(() => served?.destroyed === true, 2_000, "the server's socket to be destroyed");
    expect(client.writable).toBe(true);
    expect(chunks).toEqual(["221 bye\r\n"]);
    client.destroy();
  });
});

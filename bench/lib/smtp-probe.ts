// One message by SMTP, for the scenarios that time how soon a system serves again: a minimal client
// (HELO, MAIL, RCPT, DATA, QUIT) that reports the reply to the message's end of data, and a loop that
// retries it until a 250 comes. Runs in the bench process; the servers under test run in others.

import { connect } from "node:net";

const BODY = "Subject: probe\r\n\r\nserving again?\r\n.\r\n";

/** The reply code to the end of DATA, or the first reply that was not the expected one; rejects on a socket error. */
export function sendOne(port: number, recipient: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    // Each step: the reply code it needs and the line sent once that reply came.
    const steps: Array<[string, string]> = [
      ["220", "HELO probe.test"],
      ["250", "MAIL FROM:<probe@probe.test>"],
      ["250", `RCPT TO:<${recipient}>`],
      ["250", "DATA"],
      ["354", BODY.slice(0, -2)],
    ];
    let buffered = "";
    const finish = (reply: string | Error): void => {
      socket.destroy();
      if (reply instanceof Error) reject(reply);
      else resolve(reply);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error("timed out")));
    socket.once("error", finish);
    socket.once("close", () => finish(new Error("closed before the reply")));
    socket.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("latin1");
      for (let end = buffered.indexOf("\r\n"); end >= 0; end = buffered.indexOf("\r\n")) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (line[3] === "-") continue; // a multiline reply goes on
        const code = line.slice(0, 3);
        const step = steps.shift();
        if (step === undefined) {
          socket.end("QUIT\r\n");
          return finish(code);
        }
        if (code !== step[0]) return finish(code);
        socket.write(`${step[1]}\r\n`);
      }
    });
  });
}

/** Milliseconds from `since` (a performance.now()) until a message gets its 250; throws after timeoutMs. */
export async function untilAccepted(port: number, recipient: string, since: number, timeoutMs: number): Promise<number> {
  let last = "nothing yet";
  while (performance.now() - since < timeoutMs) {
    try {
      const code = await sendOne(port, recipient);
      if (code === "250") return performance.now() - since;
      last = `reply ${code}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no 250 within ${timeoutMs / 1000} s (last: ${last})`);
}

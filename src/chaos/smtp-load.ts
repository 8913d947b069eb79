// The chaos run's mail client: one SMTP session per message over a real socket, recording every
// reply. A message counts as promised only when the reply to its final dot is 2xx; a 5xx to any
// command is a wrong answer (the load is valid mail, so only local trouble can refuse it, and
// that must be 4xx); a session that ends without a reply is counted as dropped.

import { connect } from "node:net";

export interface SessionResult {
  readonly outcome: "accepted" | "deferred" | "rejected" | "dropped" | "refused";
  /** The last command and the reply it got (or the socket error), for the report. */
  readonly detail: string;
}

export interface Message {
  readonly sender: string;
  readonly recipient: string;
  readonly id: string;
}

const TIMEOUT_MS = 30_000;

export function sendMessage(port: number, message: Message): Promise<SessionResult> {
  const body = `From: <${message.sender}>\r\nTo: <${message.recipient}>\r\nSubject: chaos ${message.id}\r\nX-Chaos-Id: ${message.id}\r\n\r\nchaos test message ${message.id}\r\n`;
  const steps = ["EHLO chaos.test", `MAIL FROM:<${message.sender}>`, `RCPT TO:<${message.recipient}>`, "DATA", `${body}.`, "QUIT"];
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let buffered = "";
    let step = -1; // -1: waiting for the greeting
    let settled = false;
    const finish = (result: SessionResult): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(result);
    };
    const command = (): string => (step < 0 ? "greeting" : steps[step]!.startsWith("From:") ? "end of data" : steps[step]!);
    socket.setTimeout(TIMEOUT_MS, () => finish({ outcome: "dropped", detail: `${command()}: no reply in ${TIMEOUT_MS} ms` }));
    socket.on("error", (error: NodeJS.ErrnoException) =>
      finish({ outcome: step < 0 && error.code === "ECONNREFUSED" ? "refused" : "dropped", detail: `${command()}: ${error.code ?? error.message}` }),
    );
    socket.on("close", () => finish({ outcome: "dropped", detail: `${command()}: connection closed` }));
    socket.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("latin1");
      for (;;) {
        const end = buffered.indexOf("\r\n");
        if (end < 0) return;
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (line[3] === "-") continue; // a continuation line of a multi-line reply
        const code = Number(line.slice(0, 3));
        const expected = command() === "DATA" ? 3 : 2;
        if (code >= 500) return finish({ outcome: "rejected", detail: `${command()}: ${line}` });
        if (Math.floor(code / 100) !== expected) return finish({ outcome: "deferred", detail: `${command()}: ${line}` });
        if (command() === "end of data") return finish({ outcome: "accepted", detail: line });
        step++;
        socket.write(`${steps[step]}\r\n`);
      }
    });
  });
}

// `tsqmail qmqpc`: qmail-qmqpc — the qmail-queue program interface, but the message goes to the
// first QMQP server of control/qmqpservers that answers instead of into a queue. Message on fd 0,
// envelope F…\0T…\0…\0 on fd 1 (both read before any connection, as qmail-qmqpc does), root from
// --root or $TSQMAIL_ROOT; prints nothing, exits with qmail-qmqpc's code: 0 accepted, 31 refused
// (D), 71 deferred (Z), 72/73 no server reachable (timeout/refused), 74 connection failed, 55 no
// qmqpservers, 61 no root, 54 read error, 91 bad envelope. Set QMAILQUEUE to a script running
// it to make one injector hand its mail over QMQP; a root without a queue does so for all of them.

import type { Command } from "../command.js";
import { readQmqpServers, sendToQmqpServers } from "../../qmqp/null-client.js";
import { readDescriptor } from "../../queue/descriptor-reader.js";
import { readEnvelope } from "../../queue/envelope.js";
import { QueueExit } from "../../queue/queue-exit.js";
import { isDirectory, rootOnly } from "./queue.js";

const ENVELOPE_FD = 1;

export const qmqpcCommand: Command = {
  name: "qmqpc",
  summary: "qmail-qmqpc: hand the message on fd 0 (envelope on fd 1) to a QMQP server of control/qmqpservers",
  usage: "tsqmail qmqpc [--root DIR]   (message on fd 0, envelope F…\\0T…\\0…\\0 on fd 1)",
  async run(args, io) {
    const root = rootOnly(args, io.env);
    if (!(await isDirectory(root))) return QueueExit.homeDir;
    const servers = await readQmqpServers(root).catch(() => undefined);
    if (servers === undefined) return QueueExit.configUnreadable;
    const result = await sendToQmqpServers(servers, io.stdin, () => readEnvelope(readDescriptor(ENVELOPE_FD)));
    if (result.ok) return QueueExit.ok;
    return typeof result.exit === "number" ? result.exit : QueueExit.internalBug;
  },
};

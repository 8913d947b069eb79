// The Received line qmail-queue puts on top of every message it queues:
// `Received: (qmail <pid> invoked <who>); <date>\n`. Nothing in it comes from the network, so it
// needs no escaping (security.md 1.5 concerns the smtpd's own line, not this one).

import { invokerText, type InvokedBy } from "./invoker.js";
import { qmailDate } from "./qmail-date.js";

export function receivedLine(pid: number, invokedBy: InvokedBy, epochMs: number): string {
  return `Received: (qmail ${pid} invoked ${invokerText(invokedBy)}); ${qmailDate(epochMs)}\n`;
}

// qmail-send's log lines, worded exactly as qmail-log(5) documents them, with addresses and
// reports made log-safe (queue/log-text.ts). One place, so tests and operators' log parsers
// (qmailanalog and friends) see the same words everywhere.

import type { Channel, SpawnStatus } from "../../../machines/queue-entry.js";
import { escapeLogText } from "../../queue/log-text.js";

const OUTCOME: Readonly<Record<SpawnStatus, string>> = { K: "success", Z: "deferral", D: "failure" };

export const sendLog = {
  starting: (delivery: number, id: number, channel: Channel, recipient: string): string =>
    `starting delivery ${delivery}: msg ${id} to ${channel} ${escapeLogText(recipient)}`,
  delivery: (delivery: number, status: SpawnStatus, report: string): string =>
    `delivery ${delivery}: ${OUTCOME[status]}: ${escapeLogText(report)}`,
  status: (local: { running: number; limit: number }, remote: { running: number; limit: number }): string =>
    `status: local ${local.running}/${local.limit} remote ${remote.running}/${remote.limit}`,
  end: (id: number): string => `end msg ${id}`,
  bounce: (id: number, qp: number): string => `bounce msg ${id} qp ${qp}`,
  tripleBounce: (id: number): string => `triple bounce: discarding bounce/${id}`,
  exiting: (): string => "status: exiting",
};

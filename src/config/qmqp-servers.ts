// control/qmqpservers: the QMQP servers a null client (and `tsqmail qmqpc`) hands messages to,
// tried in the file's order. qmail-qmqpc takes one IP address a line and always port 628; tsqmail
// also takes `ipv4:port` and `[ipv6]:port`, so several roots can share one host (tests, a hub on
// an unprivileged port). Names are refused, as qmail's ip_scan skips them: a QMQP client must not
// depend on DNS to hand off mail. A malformed line is a ConfigError naming it.

import { isIP, isIPv4, isIPv6 } from "node:net";
import { ConfigError } from "./config-error.js";
import { listEntries } from "./control-file.js";
import type { ConfigLine } from "./config-lines.js";

/** QMQP's port (/etc/services). */
export const QMQP_PORT = 628;

export interface QmqpServer {
  readonly host: string;
  readonly port: number;
}

export function parseQmqpServers(lines: readonly ConfigLine[], file: string): QmqpServer[] {
  return listEntries(lines, file).map(({ n, text }) => {
    if (isIP(text) !== 0) return { host: text, port: QMQP_PORT };
    const withPort = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
    const host = withPort?.[1] ?? withPort?.[2];
    const port = Number(withPort?.[3]);
    const valid = host !== undefined && (withPort?.[1] !== undefined ? isIPv6(host) : isIPv4(host)) && port >= 1 && port <= 65535;
    if (!valid) throw new ConfigError(file, n, `not an IP address or ip:port: ${JSON.stringify(text)}`);
    return { host, port };
  });
}

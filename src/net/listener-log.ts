// A listener's log lines, in the shape of tcpserver -v (sslserver's for implicit TLS), which
// qmail administrators read and their log tools parse:
//   tcpserver: status: 3/40
//   tcpserver: ok 17 mx.example.org:192.0.2.1:25 client.example.net:198.51.100.7::40211
//   tcpserver: deny 18 :192.0.2.1:25 :203.0.113.9::40212
//   tcpserver: end 17 status 0
// There is no child process, so the connection's number stands where tcpserver prints a pid,
// and `end` shows the wait status the child would have had: 0 when the session ended, 25600
// (exit 100) when a rule denied it, 256 (exit 1) when it failed. The remote info field is
// always empty (no ident lookups). Added: `busy` for a connection refused over a limit (tcpserver
// would not have accepted it), and warnings.

import type { ConnectionEndpoints } from "./connection-env.js";
import type { LimitReached } from "./connection-limits.js";

export const END_STATUS = { ended: 0, denied: 100 << 8, failed: 1 << 8 } as const;

export interface ListenerLog {
  status(active: number, limit: number): void;
  verdict(allowed: boolean, id: number, endpoints: ConnectionEndpoints): void;
  busy(id: number, ip: string, limit: LimitReached, value: number): void;
  end(id: number, status: number): void;
  warning(text: string): void;
  note(text: string): void;
}

export function listenerLog(program: "tcpserver" | "sslserver", write: (line: string) => void): ListenerLog {
  const say = (text: string): void => write(`${program}: ${text}`);
  return {
    status: (active, limit) => say(`status: ${active}/${limit}`),
    verdict: (allowed, id, e) =>
      say(
        `${allowed ? "ok" : "deny"} ${id} ${e.localHost ?? ""}:${e.local.ip}:${e.localPort} ` +
          `${e.remoteHost ?? ""}:${e.remote.ip}::${e.remotePort}`,
      ),
    busy: (id, ip, limit, value) => say(`busy ${id} ${ip} ${limit} limit ${value}`),
    end: (id, status) => say(`end ${id} status ${status}`),
    warning: (text) => say(`warning: ${text}`),
    note: (text) => say(text),
  };
}

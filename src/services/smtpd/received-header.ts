// The Received line s/qmail's qmail-smtpd puts on top of each message it accepts:
//   Received: from <remotehost> (HELO <helo>) (<remoteinfo>@<remoteip>)
//     by <localhost> with ESMTP[S][A]; <date>
// `(HELO …)` only when the client's HELO/EHLO name differs from its host name; `<remoteinfo>@` only
// when known (after AUTH: the user). Every field the client controls goes through qmail's safeput:
// any byte outside [A-Za-z0-9.@%+/=:-[]] becomes `?`, so nothing can end the line or forge a
// header (security.md §1.5).

import { qmailDate } from "../../queue/qmail-date.js";

export interface ReceivedFields {
  readonly remoteHost: string | undefined;
  readonly remoteIp: string | undefined;
  readonly remoteInfo: string | undefined;
  readonly helo: string | undefined;
  readonly localHost: string;
  readonly tls: boolean;
  readonly authenticated: boolean;
  /** Names the protocol instead of ESMTP[S][A]: qmail-qmtpd's `QMTP`, qmail-qmqpd's `QMQP`. */
  readonly protocol?: string;
}

const safe = (text: string): string => text.replace(/[^A-Za-z0-9.@%+/=:\-[\]]/g, "?");

export function receivedHeader(fields: ReceivedFields, epochMs: number): string {
  const host = fields.remoteHost ?? "unknown";
  let line = `Received: from ${safe(host)}`;
  if (fields.helo !== undefined && fields.helo.toLowerCase() !== host.toLowerCase()) line += ` (HELO ${safe(fields.helo)})`;
  line += ` (${fields.remoteInfo === undefined ? "" : `${safe(fields.remoteInfo)}@`}${safe(fields.remoteIp ?? "unknown")})`;
  const protocol = fields.protocol ?? `ESMTP${fields.tls ? "S" : ""}${fields.authenticated ? "A" : ""}`;
  return `${line}\n  by ${safe(fields.localHost)} with ${protocol}; ${qmailDate(epochMs)}\n`;
}

// control/tlsdestinations, as rspawn reads it. s/qmail's line is
// `destination:cafile|verifydepth;[s]port|ciphers|domain`; tsqmail takes from it what decides
// the session:
//   - a listed destination REQUIRES TLS: a server that offers no STARTTLS (or whose handshake
//     fails) gets no message; the delivery is deferred (Z) until it does;
//   - a `cafile` (a path; relative to control/) makes the server's certificate checked against
//     that CA and against a name — the line's `|domain` field if given, else the recipient's
//     domain. Without one, any certificate is taken: TLS for encryption only, as s/qmail does.
// The destination is the recipient's domain, each `.suffix` of it, then `*` (every destination).
// Not listed: opportunistic STARTTLS, any certificate. verifydepth, port and ciphers are not used.

import { isAbsolute, join } from "node:path";
import type { ConstMap } from "../../config/constmap.js";
import { lookupByDomain } from "./find-hosts.js";

export interface TlsRequirement {
  /** CA file to verify the certificate against; undefined: any certificate. */
  readonly caFile: string | undefined;
  /** The name the certificate must carry when it is verified. */
  readonly name: string;
}

export function tlsRequirement(destinations: ConstMap, domain: string, controlDir: string): TlsRequirement | undefined {
  const value = lookupByDomain(destinations, domain, "*");
  if (value === undefined) return undefined;
  const [verify = "", transport = ""] = value.split(";");
  const caFile = verify.split("|")[0]!;
  const name = transport.split("|")[2] || domain;
  return { caFile: caFile === "" ? undefined : isAbsolute(caFile) ? caFile : join(controlDir, caFile), name };
}

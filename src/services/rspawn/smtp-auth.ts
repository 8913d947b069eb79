// AUTH as an SMTP client (RFC 4954) with a route's credentials (s/qmail's `relay|user|pass` in
// smtproutes): PLAIN (RFC 4616) when offered, else LOGIN. Only the server's final reply comes
// back (235 = authenticated); a 334 challenge the client did not expect ends the exchange with
// that reply. The credentials stay here and in the route, never in the machine's context.
// The machine decides whether AUTH may happen at all (inside TLS, or to this host itself).

import type { Reply } from "../../../machines/remote-delivery.js";
import type { Credentials } from "./find-hosts.js";
import type { SmtpConnection } from "./smtp-connection.js";

const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

export async function authenticate(connection: SmtpConnection, credentials: Credentials, mechanisms: readonly string[]): Promise<Reply> {
  if (mechanisms.includes("PLAIN")) return connection.exchange(`AUTH PLAIN ${base64(`\0${credentials.user}\0${credentials.pass}`)}`);
  const start = await connection.exchange("AUTH LOGIN");
  if (start.code !== 334) return start;
  const user = await connection.exchange(base64(credentials.user));
  if (user.code !== 334) return user;
  return connection.exchange(base64(credentials.pass));
}

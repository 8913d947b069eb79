// The s/qmail-style log lines of an SMTP session (smtpdlog): one per decision worth keeping —
// AUTH, a refused MAIL or RCPT, each DATA result — and one when the connection ends:
//   smtpd: conn 17 Reject::RCPT::Bad_Rcptto P:ESMTP S:192.0.2.7:host.example H:helo F:a@b T:c@d
//   smtpd: conn 17 Accept::DATA::Queued qp 4242 P:ESMTPS S:… H:… F:a@b T:c@d,e@f
//   smtpd: conn 17 End::CONN::221 P:ESMTPS S:… H:… A:alice queued 1
// Who (S: client address and name, H: its greeting, A: its AUTH user), what (the command and the
// envelope), result (Accept / Reject / Deferred and why). Client-chosen text is made safe first:
// a CR, LF or other control byte in a HELO name must not start a forged log line.

import type { SessionNote, SmtpSessionContext } from "../../../machines/smtp-session.js";

const safe = (text: string | undefined): string => (text === undefined || text === "" ? "-" : text.replace(/[^\x21-\x7e]/g, "?"));

function protocol(context: SmtpSessionContext): string {
  return `ESMTP${context.tlsActive ? "S" : ""}${context.authUser !== undefined ? "A" : ""}`;
}

function who(context: SmtpSessionContext, env: Readonly<Record<string, string | undefined>>): string {
  return `P:${protocol(context)} S:${safe(env.TCPREMOTEIP)}:${safe(env.TCPREMOTEHOST)} H:${safe(context.helo)}`;
}

export function noteLine(prefix: string, context: SmtpSessionContext, env: Readonly<Record<string, string | undefined>>, note: SessionNote): string {
  const recipients = note.recipient !== undefined ? note.recipient : context.recipients.join(",");
  const envelope = note.what === "AUTH" ? ` A:${safe(context.authUser ?? "")}` : ` F:${safe(context.sender)} T:${safe(recipients)}`;
  return `${prefix} ${note.result}::${note.what}::${note.reason.replace(/[^\x20-\x7e]/g, "?")} ${who(context, env)}${envelope}`;
}

/** The connection's last line; `ending` is the code of the last reply, or "Dropped". */
export function endLine(prefix: string, context: SmtpSessionContext, env: Readonly<Record<string, string | undefined>>, ending: string): string {
  return `${prefix} End::CONN::${ending} ${who(context, env)} A:${safe(context.authUser)} queued ${context.queued}`;
}

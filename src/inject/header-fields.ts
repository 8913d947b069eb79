// Header field names the way qmail's hfield.c judges them: a field is valid when some printable,
// space-free name comes before its first colon (spaces and tabs may sit between the name and the
// colon); a known field is one of the names qmail-inject treats specially, compared without
// regard to ASCII case. Pure.

/** The lower-cased field name of a valid header line, or undefined when the line is no header field. */
export function fieldName(line: string): string | undefined {
  const colon = line.indexOf(":");
  if (colon === -1) return undefined;
  const name = line.slice(0, colon).replace(/[ \t]+$/, "");
  if (name === "" || /[^\x21-\x7e]/.test(name)) return undefined;
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** How qmail-inject treats each field it knows by name. */
export type FieldRole =
  | "recipients" // To, Cc: rewritten, and their addresses are recipients with -h/-H
  | "hidden-recipients" // Bcc, Apparently-To: likewise, Bcc then removed
  | "resent-recipients" // Resent-To/Cc/Bcc: recipients when the message is being resent
  | "return-path" // rewritten, gives the envelope sender if none was set, then removed
  | "sender" // From, Sender, Reply-To and the like: addresses rewritten
  | "plain"; // known but left alone (Date, Message-ID, Subject, …)

const ROLES: Readonly<Record<string, FieldRole>> = {
  to: "recipients",
  cc: "recipients",
  bcc: "hidden-recipients",
  "apparently-to": "hidden-recipients",
  "resent-to": "resent-recipients",
  "resent-cc": "resent-recipients",
  "resent-bcc": "resent-recipients",
  "return-path": "return-path",
  sender: "sender",
  from: "sender",
  "reply-to": "sender",
  "return-receipt-to": "sender",
  "errors-to": "sender",
  "resent-sender": "sender",
  "resent-from": "sender",
  "resent-reply-to": "sender",
  date: "plain",
  "message-id": "plain",
  subject: "plain",
  "resent-date": "plain",
  "resent-message-id": "plain",
  received: "plain",
  "delivered-to": "plain",
  "content-length": "plain",
  "content-type": "plain",
  "content-transfer-encoding": "plain",
  "notice-requested-upon-delivery-to": "plain",
  "mail-followup-to": "plain",
};

export function fieldRole(name: string): FieldRole | undefined {
  return Object.hasOwn(ROLES, name) ? ROLES[name] : undefined;
}

/** Any of these present means the message is being resent: Resent- fields get the defaults. */
export const RESENT_FIELDS: readonly string[] = ["resent-sender", "resent-from", "resent-reply-to", "resent-to", "resent-cc", "resent-bcc", "resent-date", "resent-message-id"];

/** Fields qmail-inject removes: hidden recipients, the old Return-Path, and Content-Length. */
export const REMOVED_FIELDS: readonly string[] = ["bcc", "resent-bcc", "return-path", "content-length"];

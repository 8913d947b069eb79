// qmail-inject's header work for one message: given the header fields read from the message (and
// the -a/-h/-H/-f choices), it rewrites every address in the address fields, removes Bcc,
// Resent-Bcc, Return-Path and Content-Length, adds Date, Message-ID and From when missing (their
// Resent- forms when the message is being resent) and `Cc: recipient list not shown: ;` when
// there is no To or Cc, and decides the envelope: the sender from -f, else the message's
// Return-Path, else the user's own address; the recipients from the arguments and/or the header.
// The header that results is: [Return-Path with -n], the added fields, then the kept fields in
// their order. Pure: the caller supplies the identity, the time and the pid. Errors carry
// qmail-inject's text and exit code (100 for bad input).

import { quoteAddress, quoteLocalPart } from "../queue/bounce-message.js";
import { qmailDate } from "../queue/qmail-date.js";
import { InjectError } from "./inject-error.js";
import { fieldName, fieldRole, REMOVED_FIELDS, RESENT_FIELDS } from "./header-fields.js";
import { rewriteAddress, type RewriteHosts } from "./rewrite-address.js";
import { rewriteAddressList, special, tokenize, unparse, unquote, type Token } from "./token822.js";

/** Who is sending, from the QMAIL… and MAIL… variables and the control files (inject-settings.ts). */
export interface InjectIdentity {
  readonly hosts: RewriteHosts;
  readonly idHost: string;
  /** QMAILUSER / MAILUSER / USER / LOGNAME, else "anonymous". */
  readonly user: string;
  /** QMAILHOST / MAILHOST; without one the From address gets defaulthost. */
  readonly host: string | undefined;
  /** QMAILSUSER and QMAILSHOST: the default envelope sender, when it differs from From. */
  readonly returnUser: string;
  readonly returnHost: string | undefined;
  /** QMAILNAME / MAILNAME / NAME. */
  readonly fullName: string | undefined;
  /** QMAILINJECT's letters. */
  readonly options: InjectOptions;
}

export interface InjectOptions {
  /** c: the full name as a comment, `From: joe@host (Joe)`, not `From: "Joe" <joe@host>`. */
  readonly nameComment: boolean;
  /** s, f, i: drop the message's own Return-Path, From, Message-ID. */
  readonly deleteReturnPath: boolean;
  readonly deleteFrom: boolean;
  readonly deleteMessageId: boolean;
  /** r: a VERP sender, `user-@host-@[]`. */
  readonly verp: boolean;
  /** m: a sender unique to this message, `user-<time>.<pid>@host`. */
  readonly uniqueSender: boolean;
}

/** Where recipients come from: -a arguments only, -h header only, -H both. */
export type RecipientSource = "args" | "header" | "both";

export interface InjectRequest {
  readonly identity: InjectIdentity;
  readonly source: RecipientSource;
  readonly argRecipients: readonly string[];
  /** -f's address as given; undefined when there was no -f. */
  readonly sender: string | undefined;
  /** -n: the message is printed, so it starts with the Return-Path the envelope would have had. */
  readonly printReturnPath: boolean;
  readonly nowMs: number;
  readonly pid: number;
}

export interface InjectedHeader {
  /** The new header section (latin1), every line ending in "\n"; the body follows it unchanged. */
  readonly header: string;
  readonly sender: string;
  readonly recipients: readonly string[];
}

type Collect = "none" | "header" | "resent";

export function injectHeader(fields: readonly string[], request: InjectRequest): InjectedHeader {
  const identity = request.identity;
  const options = identity.options;
  const rewrite = (tokens: Token[]): Token[] => rewriteAddress(tokens, identity.hosts);
  let sender = request.sender === undefined ? undefined : rewriteOne(request.sender, rewrite, "line");
  const argRecipients = request.source === "header" ? [] : request.argRecipients.map((a) => rewriteOne(a, rewrite, "address"));
  const headerRecipients: string[] = [];
  const resentRecipients: string[] = [];
  const seen = new Set<string>();
  const kept: string[] = [];

  for (const field of fields) {
    const name = fieldName(field);
    if (options.deleteFrom && name === "from") continue;
    if (options.deleteMessageId && name === "message-id") continue;
    if (options.deleteReturnPath && name === "return-path") continue;
    if (name === undefined) throw new InjectError(`invalid header field: ${field}`, 100);
    const role = fieldRole(name);
    if (role !== undefined) seen.add(name);
    let text = field;
    if (role !== undefined && role !== "plain") {
      const list: string[] = role === "resent-recipients" ? resentRecipients : headerRecipients;
      const isRecipientField = role === "recipients" || role === "hidden-recipients" || role === "resent-recipients";
      const found: string[] = [];
      const rewritten = rewriteField(field, (address) => {
        const result = rewrite(address);
        if (isRecipientField) found.push(unquote(result));
        if (role === "return-path" && sender === undefined) sender = unquote(result) + (options.verp ? "-@[]" : "");
        return result;
      });
      if (rewritten !== undefined) {
        text = rewritten;
        list.push(...found);
      } else if (!isRecipientField) {
        // Only recipient fields may be unparseable (they are then kept as they were).
        throw new InjectError(`unable to parse this line:\n${field}`, 100);
      }
    }
    if (!REMOVED_FIELDS.includes(name)) kept.push(text);
  }

  const resent = RESENT_FIELDS.some((f) => seen.has(f));
  if (sender === undefined) sender = defaultReturnPath(request, rewrite);

  let added = request.printReturnPath ? `Return-Path: <${quoteAddress(sender)}>\n` : "";
  const prefix = resent ? "Resent-" : "";
  const has = (f: string): boolean => seen.has(`${prefix.toLowerCase()}${f}`);
  if (!has("date")) added += `${prefix}Date: ${qmailDate(request.nowMs)}\n`;
  if (!has("message-id")) added += `${prefix}${messageId(identity.idHost, request.nowMs, request.pid)}`;
  if (!has("from")) added += `${prefix}${defaultFrom(identity, rewrite)}`;
  if (!has("to") && !has("cc")) added += `${prefix}Cc: recipient list not shown: ;\n`;

  const collect: Collect = request.source === "args" ? "none" : resent ? "resent" : "header";
  const fromHeader = collect === "none" ? [] : collect === "resent" ? resentRecipients : headerRecipients;
  return { header: added + kept.join(""), sender, recipients: [...argRecipients, ...fromHeader] };
}

/** The field rewritten and folded, or undefined when it does not parse as an address list. */
function rewriteField(field: string, rewrite: (address: Token[]) => Token[]): string | undefined {
  const tokens = tokenize(field);
  if (tokens === null) return undefined;
  const rewritten = rewriteAddressList(tokens, rewrite);
  return rewritten === null ? undefined : unparse(rewritten);
}

/** A -f sender or an argument recipient: quoted as qmail's quote2 does, rewritten, unquoted. */
function rewriteOne(address: string, rewrite: (address: Token[]) => Token[], what: "line" | "address"): string {
  const quoted = quoteAddress(address);
  const tokens = tokenize(quoted);
  if (tokens === null) {
    throw new InjectError(what === "line" ? `unable to parse this line:\n${quoted}` : `unable to parse address: ${address}`, 100);
  }
  return unquote(rewrite(tokens));
}

/** The sender when neither -f nor a Return-Path gave one: QMAILSUSER@QMAILSHOST, rewritten. */
function defaultReturnPath(request: InjectRequest, rewrite: (address: Token[]) => Token[]): string {
  const { identity } = request;
  let user = identity.returnUser;
  if (identity.options.uniqueSender) user += `-${Math.floor(request.nowMs / 1000)}.${request.pid}`;
  if (identity.options.verp) user += "-";
  const address: Token[] = [{ type: "quote", text: user }];
  if (identity.returnHost !== undefined) address.push(special("at"), ...hostTokens(identity.returnHost));
  return unquote(rewrite(address)) + (identity.options.verp ? "-@[]" : "");
}

/** `From: "Full Name" <user@host>` (or `user@host (Full Name)` with QMAILINJECT=c), rewritten. */
function defaultFrom(identity: InjectIdentity, rewrite: (address: Token[]) => Token[]): string {
  const user: Token = quoteLocalPart(identity.user) === identity.user ? { type: "atom", text: identity.user } : { type: "quote", text: identity.user };
  const address: Token[] = [user];
  if (identity.host !== undefined) address.push(special("at"), ...hostTokens(identity.host));
  const named = identity.fullName !== undefined && !identity.options.nameComment;
  const tokens: Token[] = [{ type: "atom", text: "From" }, special("colon")];
  if (named) tokens.push({ type: "quote", text: identity.fullName! }, special("left"));
  tokens.push(...address);
  if (named) tokens.push(special("right"));
  if (identity.fullName !== undefined && identity.options.nameComment) tokens.push({ type: "comment", text: identity.fullName });
  // As qmail does: printed, read back and rewritten, so the host is treated like any header's.
  const reread = tokenize(unparse(tokens));
  const rewritten = reread === null ? null : rewriteAddressList(reread, rewrite);
  if (rewritten === null) throw new InjectError(`unable to parse this line:\n${unparse(tokens)}`, 100);
  return unparse(rewritten);
}

/** A host name from the environment as tokens (qmail puts it in as one atom, dots and all, then re-reads it). */
function hostTokens(host: string): Token[] {
  return tokenize(host) ?? [{ type: "atom", text: host }];
}

const pad2 = (n: number): string => String(n).padStart(2, "0");

/** `Message-ID: <YYYYMMDDhhmmss.PID.qmail@idhost>` in UTC, as qmail's newfield.c makes it. */
export function messageId(idHost: string, nowMs: number, pid: number): string {
  const d = new Date(nowMs);
  const stamp = `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}`;
  return `Message-ID: <${stamp}.${pid}.qmail@${idHost}>\n`;
}

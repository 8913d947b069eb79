// The checks behind the smtp-session machine's checkSender and checkRecipient actors: s/qmail's
// filters on one session's envelope (qmail-behaviour.md §5b).
//   MAIL  HELOCHECK with control/badhelo, control/badmailfrom (every s/qmail form), MFDNSCHECK.
//         Only a DNS soft failure is answered at MAIL (451); the others are answered at each
//         RCPT, as s/qmail does — badmailfrom for every client, the rest for non-relay clients.
//   RCPT  localiphost, rcpthosts/morercpthosts (non-relay), control/badrcptto, control/recipients
//         verification (non-relay): a recipients cdb, or a checker program reading fd 3.
// Env: HELOCHECK, MFDNSCHECK (any value: on), TCPREMOTEHOST, TCPLOCALIP, and the service's
// QREGEX (set: list entries are regular expressions, matched in linear time).
// Reads: control files (the snapshot), recipients cdbs under ROOT, DNS through src/io/dns.ts.

import { isAbsolute, join } from "node:path";
import { networkInterfaces } from "node:os";
import { REPLIES, type RecipientCheck, type RecipientVerdict, type SenderCheck, type SenderVerdict } from "../../../machines/smtp-session.js";
import { readCdb } from "../../config/cdb-reader.js";
import { ConfigError } from "../../config/config-error.js";
import { asciiLower } from "../../config/constmap.js";
import type { ControlSnapshot } from "../../config/load-control.js";
import { rcptHostAllowed } from "../../config/rcpthosts.js";
import { parseRecipients, recipientInCdb, recipientSource, type RecipientSource } from "../../config/recipients.js";
import type { Dns } from "../../io/dns.js";
import { siteFs } from "../../io/fs.js";
import { compileBadHelo } from "./filters/badhelo.js";
import { compileBadMailFrom, type ListVerdict, type SenderFacts } from "./filters/badmailfrom.js";
import { compileBadRcptTo } from "./filters/badrcptto.js";
import { domainOf, type PatternEngine } from "./filters/list-patterns.js";
import { runFd3Program } from "./fd3-program.js";
import { flatEnv, type SessionEnv } from "./session-env.js";

export const FILTER_REPLIES = {
  badHelo: "550 sorry, invalid HELO/EHLO greeting (#5.7.1)",
  badMailFrom: "553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)",
  senderMustExist: "553 sorry, your envelope sender must exist (#5.7.1)",
  dnsTemporary: "451 DNS temporary failure (#4.3.0)",
  badRcptTo: "553 sorry, your envelope recipient is in my badrcptto list (#5.7.1)",
} as const;

/** The lists of one control snapshot, compiled once and shared by its sessions. */
export interface FilterLists {
  readonly badHelo: (helo: string) => ListVerdict;
  readonly badMailFrom: (facts: SenderFacts) => ListVerdict;
  readonly badRcptTo: (recipient: string) => boolean;
  readonly recipients: readonly RecipientSource[];
}

/** Compiles the lists; an invalid regular expression is a ConfigError naming its file. */
export function compileFilterLists(control: ControlSnapshot, engine: PatternEngine): FilterLists {
  const compiled = <T>(file: string, make: () => T): T => {
    try {
      return make();
    } catch (error) {
      throw new ConfigError(`control/${file}`, undefined, (error as Error).message);
    }
  };
  const { values } = control;
  return {
    badHelo: compiled("badhelo", () => compileBadHelo(values.badhelo, engine)),
    badMailFrom: compiled("badmailfrom", () => compileBadMailFrom(values.badmailfrom, engine)),
    badRcptTo: compiled("badrcptto", () => compileBadRcptTo(values.badrcptto, engine)),
    recipients: parseRecipients(values.recipients.map((text, i) => ({ n: i + 1, text }))),
  };
}

export interface CheckContext {
  readonly site: string;
  readonly control: ControlSnapshot;
  readonly lists: FilterLists;
  /** The session's environment. */
  readonly env: SessionEnv;
  readonly dns: Dns;
  /** How long a recipients checker may run. */
  readonly checkerTimeoutMs: number;
}

type Refusal = { readonly text: string; readonly reason: string };

const remoteHostOf = (env: CheckContext["env"]): string | undefined => {
  const host = env.TCPREMOTEHOST;
  return host === undefined || host === "" || host === "unknown" ? undefined : asciiLower(host);
};

/** Whether DNS says `name` does not exist ("hard"), may not right now ("soft"), or does. */
async function nameExists(dns: Dns, name: string, kind: "mx-or-a" | "a" | "mx"): Promise<"yes" | "hard" | "soft"> {
  try {
    if (kind !== "a" && (await dns.mx(name)).length > 0) return "yes";
    if (kind === "mx") return "hard";
    return (await dns.addresses(name)).length > 0 ? "yes" : "hard";
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOTFOUND" ? "hard" : "soft";
  }
}

/** HELOCHECK: whether the greeting is refused. */
async function heloRefused(context: CheckContext, helo: string | undefined): Promise<boolean> {
  const mode = context.env.HELOCHECK;
  if (mode === undefined) return false;
  // Any one-letter mode also refuses a client that never greeted at all.
  if (helo === undefined) return mode.length === 1;
  if (mode === "!") return helo === "";
  if (mode === "." && helo === "") return true;
  const listed = context.lists.badHelo(helo);
  if (listed !== "pass") return listed === "reject";
  if (mode === "=") return asciiLower(helo) !== remoteHostOf(context.env);
  if (mode === "A" || mode === "M") return (await nameExists(context.dns, helo, mode === "A" ? "a" : "mx")) === "hard";
  return false;
}

export async function checkSender(context: CheckContext, check: SenderCheck): Promise<SenderVerdict> {
  const listed = context.lists.badMailFrom({ sender: check.sender, relay: check.relay, remoteHost: remoteHostOf(context.env) });
  const refusals: Refusal[] = [];
  if (!check.relay && (await heloRefused(context, check.helo))) refusals.push({ text: FILTER_REPLIES.badHelo, reason: "Invalid_HELO" });
  if (listed === "reject") refusals.push({ text: FILTER_REPLIES.badMailFrom, reason: "Bad_Mailfrom" });
  const domain = domainOf(check.sender);
  if (context.env.MFDNSCHECK !== undefined && listed === "pass" && domain !== "") {
    const exists = await nameExists(context.dns, domain, "mx-or-a");
    if (exists === "soft") return { kind: "refused", text: FILTER_REPLIES.dnsTemporary, reason: "DNS_Temporary" };
    if (exists === "hard" && !check.relay) refusals.push({ text: FILTER_REPLIES.senderMustExist, reason: "Invalid_Sender" });
  }
  const [first] = refusals;
  return first === undefined ? { kind: "accepted" } : { kind: "accepted", rcptRefusal: first };
}

/** This host's addresses: a `box@[ip]` recipient naming one of them is local (qmail's ipme). */
function ownAddress(ip: string, env: CheckContext["env"]): boolean {
  if (ip === env.TCPLOCALIP) return true;
  return Object.values(networkInterfaces()).some((list) => list?.some((entry) => entry.address === ip));
}

/** localiphost: `box@[a.b.c.d]` naming this host becomes `box@<localiphost>`. */
function withLocalIpHost(context: CheckContext, address: string): string {
  const literal = /^(.*)@\[([0-9a-fA-F.:]+)\]$/.exec(address);
  const localIpHost = context.control.values.localiphost;
  if (literal === null || localIpHost === undefined || !ownAddress(literal[2]!, context.env)) return address;
  return `${literal[1]}@${localIpHost}`;
}

const fs = siteFs("smtpd");

/** control/recipients: whether the address exists, is unknown, or cannot be checked now. */
async function verifyRecipient(context: CheckContext, address: string): Promise<"known" | "unknown" | "unavailable"> {
  const domain = domainOf(address);
  const source = domain === "" ? undefined : recipientSource(context.lists.recipients, domain);
  if (source === undefined) return "known";
  if (source.kind === "cdb") {
    const path = isAbsolute(source.cdb) ? source.cdb : join(context.control.root, source.cdb);
    try {
      return recipientInCdb(await readCdb(path, fs), address) ? "known" : "unknown";
    } catch {
      return "unavailable";
    }
  }
  const result = await runFd3Program(context.site, source.command, [address], flatEnv(context.env), context.checkerTimeoutMs);
  if (result.kind === "exit" && result.code === 0) return "known";
  if (result.kind === "exit" && result.code === 1) return "unknown";
  return "unavailable";
}

export async function checkRecipient(context: CheckContext, check: RecipientCheck): Promise<RecipientVerdict> {
  const address = withLocalIpHost(context, check.address);
  if (!check.relay && !rcptHostAllowed(context.control, address)) return { kind: "refused", text: REPLIES.relay, reason: "Invalid_Relaying" };
  if (context.lists.badRcptTo(address)) return { kind: "refused", text: FILTER_REPLIES.badRcptTo, reason: "Bad_Rcptto" };
  if (!check.relay) {
    const known = await verifyRecipient(context, address);
    if (known !== "known") return { kind: known };
  }
  return { kind: "accepted", address };
}

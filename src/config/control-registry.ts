// The registry of every control file tsqmail reads (qmail-control(5) for s/qmail's programs):
// its kind, its default, which services read it and whether `svc -h` (reload) picks up a
// change or the service must be restarted. loadControl, showctl and the services all work from
// this one table, so a file cannot be read in one place and forgotten in another.
//
// Pickup: qmail-smtpd, qmail-remote and qmail-local re-read their files for every connection
// or delivery, so their files take effect on reload; qmail-send reads its files once, except
// locals and virtualdomains, which it re-reads on HUP.

import type { ConfigLine } from "./config-lines.js";
import { parseQmqpServers } from "./qmqp-servers.js";
import { parseRecipients } from "./recipients.js";

export type ControlKind = "line" | "list" | "integer" | "map" | "cdb";
export type ControlService = "send" | "smtpd" | "qmtpd" | "qmqpd" | "rspawn" | "lspawn" | "pop3d" | "inject";
export type Pickup = "reload" | "restart";

interface SpecBase {
  readonly services: readonly ControlService[];
  readonly pickup: Pickup;
  /** One line for showctl and the docs. */
  readonly about: string;
}

export interface LineSpec extends SpecBase {
  readonly kind: "line";
  /** Fall back to control/me when missing. */
  readonly me: boolean;
  /** The value when the file (and, if `me`, control/me) is missing. */
  readonly literal?: string;
}
export interface ListSpec extends SpecBase {
  readonly kind: "list";
  /** A missing file means a one-entry list holding control/me (qmail's locals). */
  readonly me: boolean;
  /** A file-specific syntax check, replacing the generic "no whitespace in an entry" one. */
  readonly validate?: (lines: readonly ConfigLine[], file: string) => unknown;
}
export interface IntegerSpec extends SpecBase {
  readonly kind: "integer";
  readonly default: number;
}
export interface MapSpec extends SpecBase {
  readonly kind: "map";
}
export interface CdbSpec extends SpecBase {
  readonly kind: "cdb";
}
export type ControlSpec = LineSpec | ListSpec | IntegerSpec | MapSpec | CdbSpec;

const line = (me: boolean, literal: string | undefined, services: ControlService[], pickup: Pickup, about: string) =>
  ({ kind: "line", me, ...(literal === undefined ? {} : { literal }), services, pickup, about }) as const;
const list = (services: ControlService[], pickup: Pickup, about: string, me = false) =>
  ({ kind: "list", me, services, pickup, about }) as const;
const checkedList = (validate: ListSpec["validate"], services: ControlService[], pickup: Pickup, about: string) =>
  ({ kind: "list", me: false, validate, services, pickup, about }) as const;
const integer = (value: number, services: ControlService[], pickup: Pickup, about: string) =>
  ({ kind: "integer", default: value, services, pickup, about }) as const;
const map = (services: ControlService[], pickup: Pickup, about: string) => ({ kind: "map", services, pickup, about }) as const;
const cdb = (services: ControlService[], pickup: Pickup, about: string) => ({ kind: "cdb", services, pickup, about }) as const;

const everyone: ControlService[] = ["send", "smtpd", "qmtpd", "qmqpd", "rspawn", "lspawn", "pop3d", "inject"];

export const CONTROL_FILES = {
  me: line(false, undefined, everyone, "restart", "this host's fully-qualified name; the default for the names below"),
  // qmail-send
  locals: list(["send"], "reload", "domains delivered locally", true),
  percenthack: list(["send"], "restart", "domains where the percent hack applies"),
  virtualdomains: map(["send"], "reload", "virtual domains and users: addr-or-domain:prepend"),
  concurrencylocal: integer(10, ["send", "lspawn"], "restart", "simultaneous local deliveries (0 = hold)"),
  concurrencyremote: integer(20, ["send"], "restart", "simultaneous remote deliveries (0 = hold)"),
  queuelifetime: integer(604800, ["send"], "restart", "seconds a message may stay in the queue"),
  envnoathost: line(true, "envnoathost", ["send"], "restart", "domain appended to recipients without @"),
  bouncefrom: line(false, "MAILER-DAEMON", ["send"], "restart", "local part of the bounce sender"),
  bouncehost: line(true, "bouncehost", ["send"], "restart", "domain of the bounce sender"),
  doublebouncehost: line(true, "doublebouncehost", ["send"], "restart", "domain of the double-bounce recipient"),
  doublebounceto: line(false, "postmaster", ["send"], "restart", "local part of the double-bounce recipient"),
  // qmail-lspawn / qmail-local (qmail-start's argument in qmail)
  defaultdelivery: line(false, "./Maildir/", ["lspawn"], "restart", "delivery for a user without a .qmail file"),
  maildirquotabounce: integer(0, ["lspawn"], "restart", "1: mail over a Maildir++ quota bounces; 0: it waits in the queue"),
  // qmail-inject
  defaultdomain: line(true, "defaultdomain", ["inject"], "reload", "domain added to host names without a dot"),
  defaulthost: line(true, "defaulthost", ["inject"], "reload", "host added to addresses without @"),
  plusdomain: line(true, "plusdomain", ["inject"], "reload", "domain replacing a trailing +"),
  idhost: line(true, "idhost", ["inject"], "reload", "host name in generated Message-IDs"),
  // qmail-smtpd, qmail-qmtpd
  smtpgreeting: line(true, undefined, ["smtpd"], "reload", "text after 220 in the SMTP greeting"),
  localiphost: line(true, undefined, ["smtpd"], "reload", "name replacing this host's IP literals"),
  timeoutsmtpd: integer(1200, ["smtpd"], "reload", "seconds to wait for an SMTP client"),
  databytes: integer(0, ["smtpd", "qmtpd"], "reload", "maximum message size in bytes (0 = no limit)"),
  rcpthosts: list(["smtpd", "qmtpd"], "reload", "domains accepted from unauthorised clients (missing: only locals)"),
  morercpthosts: list(["smtpd", "qmtpd"], "reload", "more rcpthosts; compile with tsqmail newmrh"),
  "morercpthosts.cdb": cdb(["smtpd", "qmtpd"], "reload", "compiled morercpthosts"),
  badmailfrom: list(["smtpd"], "reload", "rejected envelope senders"),
  badrcptto: list(["smtpd"], "reload", "rejected envelope recipients"),
  badhelo: list(["smtpd"], "reload", "rejected HELO/EHLO names (HELOCHECK)"),
  recipients: checkedList(parseRecipients, ["smtpd"], "reload", "recipient verification sources per domain"),
  "badmimetypes.cdb": cdb(["smtpd"], "reload", "rejected base64 attachment prefixes (BADMIMETYPE)"),
  "badloadertypes.cdb": cdb(["smtpd"], "reload", "rejected loader signatures (BADLOADERTYPE)"),
  "mailfromrules.cdb": cdb(["smtpd"], "reload", "sender rules for LOCALMFCHECK=!"),
  // qmail-remote
  helohost: line(true, undefined, ["rspawn"], "reload", "name sent in HELO/EHLO"),
  timeoutconnect: integer(60, ["rspawn"], "reload", "seconds to wait for a connection"),
  timeoutremote: integer(1200, ["rspawn"], "reload", "seconds to wait for a remote server"),
  smtproutes: map(["rspawn"], "reload", "artificial SMTP routes: domain:relay[|user|pass][;port]; !@ for bounces"),
  outgoingip: line(false, undefined, ["rspawn"], "reload", "local IP address remote deliveries connect from"),
  qmtproutes: map(["rspawn"], "reload", "artificial QMTP routes: domain:relay[;port]"),
  tlsdestinations: map(["rspawn"], "reload", "destinations that require TLS: domain:cafile (certificate checked)"),
  authsenders: map(["rspawn"], "reload", "SMTP AUTH relays per sender"),
  domainips: map(["rspawn"], "reload", "per sender domain: domain:localip|helohost to send from"),
  domaincerts: map(["rspawn"], "reload", "client certificate per domain"),
  // qmail-qmqpc
  qmqpservers: checkedList(parseQmqpServers, ["inject"], "reload", "QMQP servers, in order (ip or ip:port): qmqpc, and every injector of a null client"),
} as const satisfies Record<string, ControlSpec>;

export type ControlName = keyof typeof CONTROL_FILES;

export const CONTROL_NAMES = Object.keys(CONTROL_FILES) as ControlName[];

export function controlSpec(name: ControlName): ControlSpec {
  return CONTROL_FILES[name];
}

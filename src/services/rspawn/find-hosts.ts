// Where a remote delivery connects, in the order to try: qmail-remote's choice before it dials.
// 1. control/qmtproutes and smtproutes, keys tried as qmail does: the domain, each `.suffix` of
//    it, then the empty default, qmtproutes first at each key (s/qmail); a bounce tries `!@`
//    first. A route's relay becomes the only MX (its addresses, preference 0, port from the
//    route: 465 means SMTPS, 6209 QMTPS; QMTP's default is 209); an empty relay means "use MX"
//    for that domain; `relay|user|pass` adds credentials for AUTH.
// 2. A literal (`[1.2.3.4]`, `1.2.3.4`, `[IPv6:…]`) is used as it is, preference 0.
// 3. Otherwise the MX records, each exchanger's A/AAAA addresses; none → the domain's own
//    addresses, preference 0. Lower preference first; equal preferences in random order.
// 4. Unrouted only: the lowest preference at which one of this host's own addresses appears is
//    a cut-off — everything at or above it is dropped (sending there would loop back here), and
//    nothing left is qmail's ambiguous-MX bounce.
// DNS failures as qmail maps them: NXDOMAIN (or a malformed name) is permanent, anything else
// (timeout, SERVFAIL, refused) temporary. An exchanger with no address is skipped, as in qmail;
// a temporary failure for any exchanger makes the whole lookup temporary.

import { isIP } from "node:net";
import type { Destination, HostsResult, Protocol } from "../../../machines/remote-delivery.js";
import type { ConstMap } from "../../config/constmap.js";
import type { Dns } from "../../io/dns.js";

export interface FindHostsSettings {
  readonly dns: Dns;
  /** The port for a destination whose route names none: 25. */
  readonly defaultPort: number;
  /** Is `ip` one of this host's own addresses (qmail's ipme)? */
  readonly isMe: (ip: string) => boolean;
  /** A number in [0, 1), for the tie-break among equal preferences. */
  readonly random: () => number;
}

interface Candidate {
  readonly ip: string;
  readonly preference: number;
}

/** A route's credentials for AUTH (s/qmail's `relay|user|pass`). */
export interface Credentials {
  readonly user: string;
  readonly pass: string;
}

export interface Route {
  /** undefined: use the domain's MX (an empty relay in qmtproutes). */
  readonly relay: string | undefined;
  readonly port: number | undefined;
  readonly credentials: Credentials | undefined;
  readonly protocol: Protocol;
}

/** control/smtproutes and control/qmtproutes. */
export interface RouteTables {
  readonly smtp: ConstMap;
  readonly qmtp: ConstMap;
}

// relay (a name or a bracketed literal, which may hold colons), optional port after `;` or `:`.
const ROUTE = /^(\[[^\]]*\]|[^;:|]*)(?:[;:](\d*))?$/;
// s/qmail's smarthost with AUTH: relay|user|pass, optional `;port` (the password may hold `:` and `|`).
const AUTH_ROUTE = /^(\[[^\]]*\]|[^;:|]*)\|([^|]*)\|(.*?)(?:;(\d*))?$/;

const validPort = (text: string | undefined): number | undefined => {
  const port = text === undefined || text === "" ? undefined : Number(text);
  return port !== undefined && port > 0 && port < 65536 ? port : undefined;
};

/**
 * The value qmail's lookups find for `domain` in `map`: the domain, each `.suffix` of it, then
 * `fallback` (smtproutes: the empty key).
 */
export function lookupByDomain(map: ConstMap, domain: string, fallback = ""): string | undefined {
  for (const key of domainKeys(domain, fallback)) {
    const value = map.get(key);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** The keys qmail tries for `domain`, most specific first. */
function domainKeys(domain: string, fallback: string): string[] {
  const keys: string[] = [];
  for (let i = 0; i < domain.length; i++) if (i === 0 || domain[i] === ".") keys.push(domain.slice(i));
  return [...keys, fallback];
}

/**
 * The route for mail from `sender` to `domain`. A bounce (empty sender) takes the `!@` route
 * when there is one (s/qmail: bounces to their own relay), before any domain's. At each key
 * qmtproutes is asked before smtproutes (s/qmail). An empty smtproutes relay means "use MX"
 * (undefined: an ordinary delivery); an empty qmtproutes relay means "use MX, by QMTP".
 */
export function routeFor(tables: RouteTables, domain: string, sender = "x"): Route | undefined {
  for (const key of [...(sender === "" ? ["!@"] : []), ...domainKeys(domain, "")]) {
    const qmtp = tables.qmtp.get(key);
    if (qmtp !== undefined) return parseRoute(qmtp, "qmtp");
    const smtp = tables.smtp.get(key);
    if (smtp !== undefined) return smtp === "" ? undefined : parseRoute(smtp, "smtp");
  }
  return undefined;
}

function parseRoute(value: string, protocol: Protocol): Route {
  if (value === "") return { relay: undefined, port: undefined, credentials: undefined, protocol };
  const auth = AUTH_ROUTE.exec(value);
  if (auth !== null) return { relay: auth[1]!, port: validPort(auth[4]), credentials: { user: auth[2]!, pass: auth[3]! }, protocol };
  const parsed = ROUTE.exec(value);
  if (parsed === null) return { relay: value, port: undefined, credentials: undefined, protocol };
  return { relay: parsed[1]!, port: validPort(parsed[2]), credentials: undefined, protocol };
}

/** `1.2.3.4`, `[1.2.3.4]` or `[IPv6:…]`: the address, else undefined. */
export function literalAddress(host: string): string | undefined {
  const inner = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1).replace(/^ipv6:/i, "") : host;
  if (isIP(inner) === 0) return undefined;
  return host.startsWith("[") || isIP(inner) === 4 ? inner : undefined;
}

type Lookup = { ok: true; candidates: Candidate[] } | { ok: false; hard: boolean };

function dnsFailure(error: unknown): { ok: false; hard: boolean } {
  const code = (error as NodeJS.ErrnoException).code;
  return { ok: false, hard: code === "ENOTFOUND" || code === "EBADNAME" };
}

async function addressesOf(dns: Dns, host: string, preference: number): Promise<Lookup> {
  const literal = literalAddress(host);
  if (literal !== undefined) return { ok: true, candidates: [{ ip: literal, preference }] };
  try {
    return { ok: true, candidates: (await dns.addresses(host)).map((ip) => ({ ip, preference })) };
  } catch (error) {
    return dnsFailure(error);
  }
}

async function mxCandidates(dns: Dns, domain: string): Promise<Lookup> {
  if (literalAddress(domain) !== undefined) return addressesOf(dns, domain, 0);
  let mx;
  try {
    mx = await dns.mx(domain);
  } catch (error) {
    return dnsFailure(error);
  }
  if (mx.length === 0) return addressesOf(dns, domain, 0);
  const found = await Promise.all(mx.map((record) => addressesOf(dns, record.exchange, record.preference)));
  if (found.some((lookup) => !lookup.ok && !lookup.hard)) return { ok: false, hard: false };
  return { ok: true, candidates: found.flatMap((lookup) => (lookup.ok ? lookup.candidates : [])) };
}

/** Sorted by preference; each run of equal preferences shuffled (Fisher–Yates). */
export function preferenceOrder(candidates: readonly Candidate[], random: () => number): Candidate[] {
  const shuffled = [...candidates];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return shuffled.sort((a, b) => a.preference - b.preference);
}

/** s/qmail: port 465 speaks SMTPS and 6209 QMTPS, TLS from the first byte. */
const IMPLICIT_TLS_PORT: Readonly<Record<Protocol, number>> = { smtp: 465, qmtp: 6209 };
const QMTP_PORT = 209;

export async function findHosts(settings: FindHostsSettings, route: Route | undefined, domain: string): Promise<HostsResult> {
  const relay = route?.relay;
  const host = relay ?? domain;
  const lookup = relay === undefined ? await mxCandidates(settings.dns, domain) : await addressesOf(settings.dns, relay, 0);
  if (!lookup.ok) {
    return lookup.hard
      ? { ok: false, status: "D", text: `Sorry, I couldn't find any host named ${host}. (#5.1.2)` }
      : { ok: false, status: "Z", text: "Sorry, I couldn't find any host by that name. (#4.1.2)" };
  }
  if (lookup.candidates.length === 0) return { ok: false, status: "D", text: "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)" };

  let usable = preferenceOrder(lookup.candidates, settings.random);
  if (relay === undefined) {
    const prefme = Math.min(...usable.filter((candidate) => settings.isMe(candidate.ip)).map((candidate) => candidate.preference));
    usable = usable.filter((candidate) => candidate.preference < prefme);
    if (usable.length === 0) {
      return {
        ok: false,
        status: "D",
        text: "Sorry. Although I'm listed as a best-preference MX or A for that host,\nit isn't in my control/locals file, so I don't treat it as local. (#5.4.6)",
      };
    }
  }
  const protocol = route?.protocol ?? "smtp";
  const port = route?.port ?? (protocol === "qmtp" ? QMTP_PORT : settings.defaultPort);
  return { ok: true, hosts: usable.map((candidate): Destination => ({ ip: candidate.ip, port, implicitTls: port === IMPLICIT_TLS_PORT[protocol] })) };
}

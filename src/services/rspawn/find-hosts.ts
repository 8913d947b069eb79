// Where a remote delivery connects, in the order to try: qmail-remote's choice before it dials.
// 1. control/smtproutes, keys tried as qmail does: the domain, each `.suffix` of it, then the
//    empty default. A route's relay becomes the only MX (its addresses, preference 0, port from
//    the route); an empty relay means "use MX" for that domain.
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
import type { Destination, HostsResult } from "../../../machines/remote-delivery.js";
import type { ConstMap } from "../../config/constmap.js";
import type { Dns } from "../../io/dns.js";

export interface FindHostsSettings {
  readonly routes: ConstMap;
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

// relay (a name or a bracketed literal, which may hold colons), optional |user|pass, optional port.
const ROUTE = /^(\[[^\]]*\]|[^;:|]*)(?:\|[^;:]*)?(?:[;:](\d*))?$/;

/** The smtproutes entry for `domain`: the domain, each `.suffix`, then the default. */
export function routeFor(routes: ConstMap, domain: string): { relay: string; port: number | undefined } | undefined {
  for (let i = 0; i <= domain.length; i++) {
    if (i > 0 && i < domain.length && domain[i] !== ".") continue;
    const value = routes.get(domain.slice(i));
    if (value === undefined) continue;
    if (value === "") return undefined;
    // s/qmail writes the port after `;`, qmail after `:`; `|user|pass` (AUTH) is not supported yet.
    const parsed = ROUTE.exec(value);
    if (parsed === null) return { relay: value, port: undefined };
    const port = parsed[2] === undefined || parsed[2] === "" ? undefined : Number(parsed[2]);
    return { relay: parsed[1]!, port: port !== undefined && port > 0 && port < 65536 ? port : undefined };
  }
  return undefined;
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

export async function findHosts(settings: FindHostsSettings, recipient: string): Promise<HostsResult> {
  const domain = recipient.slice(recipient.lastIndexOf("@") + 1);
  const route = routeFor(settings.routes, domain);
  const host = route?.relay ?? domain;
  const lookup = route === undefined ? await mxCandidates(settings.dns, domain) : await addressesOf(settings.dns, route.relay, 0);
  if (!lookup.ok) {
    return lookup.hard
      ? { ok: false, status: "D", text: `Sorry, I couldn't find any host named ${host}. (#5.1.2)` }
      : { ok: false, status: "Z", text: "Sorry, I couldn't find any host by that name. (#4.1.2)" };
  }
  if (lookup.candidates.length === 0) return { ok: false, status: "D", text: "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)" };

  let usable = preferenceOrder(lookup.candidates, settings.random);
  if (route === undefined) {
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
  const port = route?.port ?? settings.defaultPort;
  return { ok: true, hosts: usable.map((candidate): Destination => ({ ip: candidate.ip, port })) };
}

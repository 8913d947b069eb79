// What a batch's session will be, decided from the control files before any lookup or
// connection: the route (smtproutes/qmtproutes, `!@`, credentials) and so the protocol, the
// addresses as they go on the wire, the EHLO name and local address (helohost, outgoingip,
// domainips), TLS (tlsdestinations: required, and the CA and name a certificate is checked
// against), and the key under which its connections may be kept and taken again — a key that
// names everything the session depends on, so a kept connection never serves a batch that would
// have set it up differently.
// Reads: the CA file a tlsdestinations line names, through the file-system seam.

import type { Destination, Protocol, TlsPolicy } from "../../../machines/remote-delivery.js";
import type { ConstMap } from "../../config/constmap.js";
import type { SiteFs } from "../../io/fs.js";
import { senderBinding } from "./domain-ips.js";
import { literalAddress, routeFor, type Route, type RouteTables } from "./find-hosts.js";
import { quoteAddress } from "./quote-address.js";
import type { ConnectionSettings, TlsCheck } from "./smtp-connection.js";
import { tlsRequirement } from "./tls-destinations.js";

/** The control files a plan is made from (what svc -h re-reads). */
export interface PlanSettings {
  readonly helohost: string;
  readonly routes: RouteTables;
  readonly tlsdestinations: ConstMap;
  readonly domainips: ConstMap;
  readonly connection: ConnectionSettings;
  readonly controlDir: string;
  /** env TLS=0 turns opportunistic STARTTLS off. */
  readonly tlsWanted: boolean;
}

export interface BatchPlan {
  readonly domain: string;
  readonly route: Route | undefined;
  readonly protocol: Protocol;
  /** An address as it goes on the wire: quoted for SMTP's command lines, as it is for QMTP. */
  readonly onWire: (address: string) => string;
  readonly helohost: string;
  readonly connection: ConnectionSettings;
  readonly tls: TlsPolicy;
  readonly check: TlsCheck;
  readonly sessionKey: (destination: Destination) => string;
}

export async function planBatch(fs: SiteFs, settings: PlanSettings, sender: string, recipient: string): Promise<BatchPlan> {
  const domain = recipient.slice(recipient.lastIndexOf("@") + 1);
  const route = routeFor(settings.routes, domain, sender);
  const protocol = route?.protocol ?? "smtp";
  const binding = senderBinding(settings.domainips, sender);
  const helohost = binding.helohost ?? settings.helohost;
  const connection = { ...settings.connection, localAddress: binding.localAddress ?? settings.connection.localAddress };
  const required = tlsRequirement(settings.tlsdestinations, domain, settings.controlDir);
  const tls: TlsPolicy = required !== undefined ? "required" : settings.tlsWanted ? "opportunistic" : "off";
  // The name TLS asks the certificate for (SNI): the relay or the recipient's domain, unless a literal.
  const sniName = route?.relay ?? domain;
  const check: TlsCheck = {
    servername: literalAddress(sniName) === undefined ? sniName : undefined,
    ca: required?.caFile === undefined ? undefined : await fs.readFile(required.caFile),
    name: required?.name ?? domain,
  };
  const credentials = route?.credentials;
  return {
    domain,
    route,
    protocol,
    onWire: protocol === "smtp" ? quoteAddress : (address) => address,
    helohost,
    connection,
    tls,
    check,
    sessionKey: (destination) =>
      JSON.stringify([protocol, destination, helohost, connection.localAddress, tls, required, credentials?.user ?? null, credentials?.pass ?? null]),
  };
}

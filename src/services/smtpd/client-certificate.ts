// Which client certificates earn relaying under UCSPITLS `?` / `@`: one signed directly by a CA
// in CAFILE and within its validity dates. Node computes `authorized` only for sockets made by a
// tls.Server, not for the TLSSocket STARTTLS wraps around a plain socket, so the check is done
// here with X509Certificate. Chains through intermediate CAs are not followed.

import { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";

/** The certificates in a PEM bundle. */
export function pemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

/** The DN (`/O=…/CN=…`) of the peer's certificate when one of `authorities` issued it; else undefined. */
export function trustedClientDn(socket: TLSSocket, authorities: readonly X509Certificate[], now: number): string | undefined {
  const peer = socket.getPeerX509Certificate();
  if (peer === undefined || now < Date.parse(peer.validFrom) || now > Date.parse(peer.validTo)) return undefined;
  if (!authorities.some((ca) => peer.checkIssued(ca) && peer.verify(ca.publicKey))) return undefined;
  const dn = peer.subject
    .split("\n")
    .filter((part) => part !== "")
    .map((part) => `/${part}`)
    .join("");
  return dn === "" ? undefined : dn;
}

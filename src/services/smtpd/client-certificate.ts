// Which client certificates earn relaying under UCSPITLS `?` / `@`: one signed directly by a CA
// in CAFILE and within its validity dates. Node computes `authorized` only for sockets made by a
// tls.Server, not for the TLSSocket STARTTLS wraps around a plain socket, so the check is done
// here with X509Certificate. Chains through intermediate CAs are not followed.

import { X509Certificate } from "node:crypto";
import { isAbsolute, join } from "node:path";
import type { TLSSocket } from "node:tls";
import { ConfigError } from "../../config/config-error.js";
import type { SiteFs } from "../../io/fs.js";

/** The certificates in a PEM bundle. */
export function pemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

/** CAFILE (ucspi-ssl's name): its PEM and the CAs in it. */
export interface ClientAuthorities {
  readonly pem: Buffer;
  readonly authorities: readonly X509Certificate[];
}

/**
 * CAFILE, relative to the root: the CAs whose client certificates earn relaying. Unset or empty:
 * undefined, no client certificate is ever trusted. A file without a certificate is an error
 * naming it.
 */
export async function readClientAuthorities(fs: SiteFs, root: string, caFile: string | undefined): Promise<ClientAuthorities | undefined> {
  if (caFile === undefined || caFile === "") return undefined;
  const pem = await fs.readFile(isAbsolute(caFile) ? caFile : join(root, caFile));
  try {
    const authorities = pemCertificates(pem.toString("latin1"));
    if (authorities.length === 0) throw new Error("no certificate in it");
    return { pem, authorities };
  } catch (error) {
    throw new ConfigError(caFile, undefined, (error as Error).message);
  }
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

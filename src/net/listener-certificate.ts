// control/servercert.pem as the listening services read it: the private key and the certificate
// chain in one PEM file, s/qmail's layout. Read at start and on every svc -h, so a renewed
// certificate takes effect without a restart. A certificate node:tls refuses is a ConfigError
// naming the file, so a bad one stops a start and, on reload, is logged while the old one stays.
// Reads: ROOT/control/servercert.pem, through the service's file-system site.

import { createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";
import { ConfigError } from "../config/config-error.js";
import { siteFs } from "../io/fs.js";
import { rootPaths } from "../root/paths.js";

export const CERTIFICATE_FILE = "control/servercert.pem";

export interface ServerCertificate {
  /** As node:tls takes them: for an implicit-TLS listener, or to build another context from. */
  readonly options: SecureContextOptions;
  /** What STARTTLS (or STLS) upgrades a connection with. */
  readonly context: SecureContext;
}

/** undefined when the file does not exist: the service then offers no TLS. */
export async function readServerCertificate(root: string, site: string): Promise<ServerCertificate | undefined> {
  let pem: Buffer;
  try {
    pem = await siteFs(site).readFile(rootPaths(root).controlFile("servercert.pem"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const options: SecureContextOptions = { key: pem, cert: pem };
  try {
    return { options, context: createSecureContext(options) };
  } catch (error) {
    throw new ConfigError(CERTIFICATE_FILE, undefined, (error as Error).message);
  }
}

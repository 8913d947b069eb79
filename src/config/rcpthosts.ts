// The relay check of qmail-smtpd and qmail-qmtpd: may an unauthorised client send to this
// address? An address without @ is always accepted; otherwise the lowercased domain, then each
// `.suffix` of it, is looked up in rcpthosts and then morercpthosts.cdb.
// Fail closed: when control/rcpthosts is missing, qmail accepts every domain (an open relay);
// tsqmail accepts only the domains in locals (docs/configuration.md).

import { asciiLower } from "./constmap.js";
import type { ControlSnapshot } from "./load-control.js";

export function rcptHostAllowed(control: ControlSnapshot, address: string): boolean {
  const at = address.lastIndexOf("@");
  if (at === -1) return true;
  const domain = asciiLower(address.slice(at + 1));
  const { values } = control;
  const missing = control.defaulted.has("rcpthosts");
  const hosts = new Set((missing ? values.locals : values.rcpthosts).map(asciiLower));
  const more = missing ? undefined : values["morercpthosts.cdb"];
  for (const key of domainKeys(domain)) {
    if (hosts.has(key) || more?.get(key) !== undefined) return true;
  }
  return false;
}

/** The domain, then each `.suffix` of it, longest first. */
function* domainKeys(domain: string): Generator<string> {
  yield domain;
  for (let dot = domain.indexOf("."); dot !== -1; dot = domain.indexOf(".", dot + 1)) yield domain.slice(dot);
}

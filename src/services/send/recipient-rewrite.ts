// qmail-send's recipient rewriting, applied to each T record while todo/N is preprocessed:
// envnoathost for a bare local part, the percent hack, then locals (local, unchanged),
// virtualdomains (local, `<prepend>-` put in front) and everything else remote. Also the reverse
// step a bounce needs: stripping the virtual-domain prefix again. Pure functions of the control
// values they are given; reads and writes nothing.

import type { ConstMap } from "../../config/constmap.js";
import { asciiLower } from "../../config/constmap.js";
import type { Channel } from "../../../machines/queue-entry.js";

export interface RewriteControl {
  readonly envnoathost: string;
  readonly percenthack: ReadonlySet<string>;
  readonly locals: ReadonlySet<string>;
  readonly virtualdomains: ConstMap;
}

export interface RewrittenRecipient {
  readonly channel: Channel;
  readonly address: string;
}

/** Lower-cased lookup sets, as qmail's constmap compares domains case-insensitively. */
export function domainSet(domains: readonly string[]): ReadonlySet<string> {
  return new Set(domains.map(asciiLower));
}

function splitAt(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf("@");
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

function applyPercentHack(address: string, percenthack: ReadonlySet<string>): string {
  let { local, domain } = splitAt(address);
  for (;;) {
    const percent = local.lastIndexOf("%");
    if (percent === -1 || !percenthack.has(asciiLower(domain))) return `${local}@${domain}`;
    domain = local.slice(percent + 1);
    local = local.slice(0, percent);
  }
}

/** The virtualdomains value for an address: the first key hit decides, "" meaning "not virtual". */
function virtualPrepend(address: string, domain: string, virtualdomains: ConstMap): string | undefined {
  const keys = [address, domain];
  for (let dot = domain.indexOf("."); dot !== -1; dot = domain.indexOf(".", dot + 1)) keys.push(domain.slice(dot));
  keys.push("");
  for (const key of keys) {
    const value = virtualdomains.get(key);
    if (value !== undefined) return value === "" ? undefined : value;
  }
  return undefined;
}

export function rewriteRecipient(recipient: string, control: RewriteControl): RewrittenRecipient {
  const withHost = recipient.includes("@") ? recipient : `${recipient}@${control.envnoathost}`;
  const address = applyPercentHack(withHost, control.percenthack);
  const { domain } = splitAt(address);
  if (control.locals.has(asciiLower(domain))) return { channel: "local", address };
  const prepend = virtualPrepend(address, domain, control.virtualdomains);
  if (prepend !== undefined) return { channel: "local", address: `${prepend}-${address}` };
  return { channel: "remote", address };
}

/** A local recipient as the sender wrote it: `<prepend>-` removed when virtualdomains put it there. */
export function stripVirtualPrefix(recipient: string, virtualdomains: ConstMap): string {
  const prepend = virtualPrepend(recipient, splitAt(recipient).domain, virtualdomains);
  if (prepend === undefined || !recipient.startsWith(`${prepend}-`)) return recipient;
  return recipient.slice(prepend.length + 1);
}

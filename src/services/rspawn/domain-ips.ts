// control/domainips, s/qmail's per-sender binding: lines `domain:localip|helohost`. When the
// domain part of the envelope sender matches (the domain, each `.suffix`, then the empty key),
// connections go out from `localip` (instead of control/outgoingip) and, if given, EHLO says
// `helohost` (instead of control/helohost). A bounce (empty sender) matches only the empty key.
// `localip` may carry an interface (`fe80::1%eth0`), as s/qmail allows for link-local IPv6.

import type { ConstMap } from "../../config/constmap.js";
import { lookupByDomain } from "./find-hosts.js";

export interface SenderBinding {
  readonly localAddress: string | undefined;
  readonly helohost: string | undefined;
}

export function senderBinding(domainips: ConstMap, sender: string): SenderBinding {
  const value = lookupByDomain(domainips, sender.slice(sender.lastIndexOf("@") + 1));
  const [localAddress = "", helohost = ""] = (value ?? "").split("|");
  return { localAddress: localAddress || undefined, helohost: helohost || undefined };
}

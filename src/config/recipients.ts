// control/recipients: where qmail-smtpd (s/qmail) verifies recipients of non-relay sessions.
// s/qmail's exact line syntax is not documented (qmail-behaviour.md, UNVERIFIED); tsqmail's is:
//   example.com:users/recipients.cdb    addresses at example.com and its subdomains, from a cdb
//   @example.com:users/recipients.cdb   addresses at exactly example.com
//   example.com|/path/to/checker args   a checkpassword-style checker (address on fd 3)
// The most specific line wins: `@domain`, then `domain`, then each parent domain. A domain with
// no line is not verified. A recipients cdb holds lowercased addresses as keys; a key ending in
// `-@domain` (e.g. `list-@example.com`) also accepts every extension of it (VERP).

import type { Cdb } from "./cdb-reader.js";
import { ConfigError } from "./config-error.js";
import type { ConfigLine } from "./config-lines.js";
import { asciiLower } from "./constmap.js";
import { listEntries } from "./control-file.js";

export type RecipientSource =
  | { readonly kind: "cdb"; readonly domain: string; readonly exact: boolean; readonly cdb: string }
  | { readonly kind: "checker"; readonly domain: string; readonly exact: boolean; readonly command: string };

export const RECIPIENTS_FILE = "control/recipients";

export function parseRecipients(lines: readonly ConfigLine[], file = RECIPIENTS_FILE): RecipientSource[] {
  return listEntries(lines, file, true).map(({ n, text }): RecipientSource => {
    const split = /[:|]/.exec(text);
    if (split === null) throw new ConfigError(file, n, `expected domain:file.cdb or domain|program: ${JSON.stringify(text)}`);
    // Only a checker command may contain spaces.
    if (/\s/.test(text.slice(0, split[0] === "|" ? split.index : undefined))) {
      throw new ConfigError(file, n, `unexpected whitespace in ${JSON.stringify(text)}`);
    }
    const target = text.slice(split.index + 1);
    const exact = text.startsWith("@");
    const domain = asciiLower(text.slice(exact ? 1 : 0, split.index));
    if (domain === "" || target === "") throw new ConfigError(file, n, `empty domain or source: ${JSON.stringify(text)}`);
    return split[0] === ":" ? { kind: "cdb", domain, exact, cdb: target } : { kind: "checker", domain, exact, command: target };
  });
}

/** The source that verifies addresses at `domain`, or undefined when the domain is not verified. */
export function recipientSource(sources: readonly RecipientSource[], domain: string): RecipientSource | undefined {
  const wanted = asciiLower(domain);
  const exact = sources.find((source) => source.exact && source.domain === wanted);
  if (exact !== undefined) return exact;
  for (let at = wanted; ; at = at.slice(at.indexOf(".") + 1)) {
    const covering = sources.find((source) => !source.exact && source.domain === at);
    if (covering !== undefined) return covering;
    if (!at.includes(".")) return undefined;
  }
}

/** Whether a recipients cdb accepts `address`: exactly, or through a `prefix-@domain` entry. */
export function recipientInCdb(cdb: Cdb, address: string): boolean {
  const lower = asciiLower(address);
  if (cdb.get(lower) !== undefined) return true;
  const at = lower.lastIndexOf("@");
  if (at === -1) return false;
  const domain = lower.slice(at);
  for (let dash = lower.lastIndexOf("-", at - 1); dash > 0; dash = lower.lastIndexOf("-", dash - 1)) {
    if (cdb.get(`${lower.slice(0, dash + 1)}${domain}`) !== undefined) return true;
  }
  return false;
}

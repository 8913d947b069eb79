// The entries s/qmail's lists share: a plain name compared whole and case-insensitively, or a
// pattern — wildmat by default, a regular expression when QREGEX is set — which a leading `!`
// negates (the entry then matches every text the pattern does not). Each list file adds its
// own forms on top (badmailfrom.ts, badhelo.ts, badrcptto.ts).

import { asciiLower } from "../../../config/constmap.js";
import { linearRegex } from "./linear-regex.js";
import { isWildmat, wildmat } from "./wildmat.js";

export type PatternEngine = "wildmat" | "regex";

export type Matcher = (text: string) => boolean;

/** The matcher for a pattern entry, or undefined when the entry is a plain name. */
export function patternMatcher(entry: string, engine: PatternEngine): Matcher | undefined {
  const negated = entry.startsWith("!");
  const body = negated ? entry.slice(1) : entry;
  if (!negated && engine === "wildmat" && !isWildmat(body)) return undefined;
  const matches = engine === "regex" ? linearRegex(body) : wildmat(body);
  return negated ? (text) => !matches(text) : matches;
}

/** An entry: its pattern, else the plain name compared ignoring case. */
export function entryMatcher(entry: string, engine: PatternEngine): Matcher {
  const pattern = patternMatcher(entry, engine);
  if (pattern !== undefined) return pattern;
  const name = asciiLower(entry);
  return (text) => asciiLower(text) === name;
}

/** The domain of an address, lowercased, after its last `@`; "" when it has none. */
export function domainOf(address: string): string {
  const at = address.lastIndexOf("@");
  return at === -1 ? "" : asciiLower(address.slice(at + 1));
}

/** An entry `addr` or `@dom`: the address itself, or any address at that domain. */
export function addressMatcher(entry: string, engine: PatternEngine): Matcher {
  if (entry.startsWith("@") && patternMatcher(entry, engine) === undefined) {
    const domain = asciiLower(entry.slice(1));
    return (address) => domainOf(address) === domain;
  }
  return entryMatcher(entry, engine);
}

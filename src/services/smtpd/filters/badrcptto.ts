// control/badrcptto: an exact address, `@dom` (any address there), or a (negated) wildmat
// pattern — a regular expression with QREGEX. Any match rejects the recipient.

import { addressMatcher, type PatternEngine } from "./list-patterns.js";

export function compileBadRcptTo(entries: readonly string[], engine: PatternEngine): (recipient: string) => boolean {
  const matchers = entries.map((entry) => addressMatcher(entry, engine));
  return (recipient) => matchers.some((matches) => matches(recipient));
}

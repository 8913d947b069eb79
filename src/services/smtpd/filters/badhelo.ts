// control/badhelo (HELOCHECK): entries tried in file order, the first match decides —
//   name!        accept this exact name (an exemption from the patterns below it)
//   name         reject this exact name
//   pattern !pat reject on a (negated) wildmat match, or regular expression with QREGEX

import { asciiLower } from "../../../config/constmap.js";
import { entryMatcher, type PatternEngine } from "./list-patterns.js";
import type { ListVerdict } from "./badmailfrom.js";

export function compileBadHelo(entries: readonly string[], engine: PatternEngine): (helo: string) => ListVerdict {
  const rules = entries.map((entry): ((helo: string) => ListVerdict | undefined) => {
    if (entry.length > 1 && entry.endsWith("!")) {
      const name = asciiLower(entry.slice(0, -1));
      return (helo) => (asciiLower(helo) === name ? "exempt" : undefined);
    }
    const matches = entryMatcher(entry, engine);
    return (helo) => (matches(helo) ? "reject" : undefined);
  });
  return (helo) => {
    for (const check of rules) {
      const verdict = check(helo);
      if (verdict !== undefined) return verdict;
    }
    return "pass";
  };
}

// Regular expressions in badhelo, badmailfrom and badrcptto (QREGEX=1, the qregex patch's style)
// run on re2js, a port of RE2: matching time grows linearly with the text, whatever the
// pattern, where V8's backtracking engine can take exponential time on a pattern like
// `(a+)+$` (security.md §1.7) and would stall every session of the worker. As with qregex,
// a pattern matches anywhere in the text unless anchored, ignoring case.

import { RE2JS } from "re2js";

/** Compiles `pattern`; throws with re2js's message when it is not a valid expression. */
export function linearRegex(pattern: string): (text: string) => boolean {
  const compiled = RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
  return (text) => compiled.matcher(text).find();
}

// Regular expressions in badhelo, badmailfrom and badrcptto (QREGEX=1, the qregex patch's style)
// run on re2js, a port of RE2: matching time grows linearly with the text, whatever the
// pattern, where V8's backtracking engine can take exponential time on a pattern like
// `(a+)+$` (security.md §1.7) and would stall every session of the worker. As with qregex,
// a pattern matches anywhere in the text unless anchored, ignoring case.
// re2js is loaded on the first pattern, through its CommonJS build so compiling stays
// synchronous: most roots have no QREGEX lists, and every SMTP worker would otherwise carry
// its ~1 MB for nothing.

import { createRequire } from "node:module";

type Re2js = typeof import("re2js");

let re2js: Re2js | undefined;
const loadRe2js = (): Re2js => (re2js ??= createRequire(import.meta.url)("re2js") as Re2js);

/** Compiles `pattern`; throws with re2js's message when it is not a valid expression. */
export function linearRegex(pattern: string): (text: string) => boolean {
  const { RE2JS } = loadRe2js();
  const compiled = RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
  return (text) => compiled.matcher(text).find();
}

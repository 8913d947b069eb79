// wildmat: the shell-style patterns s/qmail allows in badhelo, badmailfrom and badrcptto —
// `*` (any run), `?` (any one character), `[...]` (a set; `^` or `!` first negates it; `a-z`
// ranges) and `\` (take the next character literally). Case-insensitive, as the lists are.
// The matcher keeps one backtrack point (the last `*`), so a pattern costs at most
// pattern × text steps however many stars it has: no list entry can stall the event loop.

type Token = { readonly kind: "star" } | { readonly kind: "one"; readonly test: (ch: string) => boolean };

/** Whether `text` holds a wildmat metacharacter, i.e. is a pattern rather than a plain name. */
export function isWildmat(text: string): boolean {
  return /[*?[\\]/.test(text);
}

function compile(pattern: string): Token[] {
  const tokens: Token[] = [];
  const chars = [...pattern.toLowerCase()];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === "*") {
      if (tokens.at(-1)?.kind !== "star") tokens.push({ kind: "star" });
    } else if (ch === "?") tokens.push({ kind: "one", test: () => true });
    else if (ch === "\\" && i + 1 < chars.length) {
      const literal = chars[++i]!;
      tokens.push({ kind: "one", test: (c) => c === literal });
    } else if (ch === "[" && chars.indexOf("]", i + 2) !== -1) {
      const close = chars.indexOf("]", i + 2);
      const set = chars.slice(i + 1, close);
      i = close;
      const negated = set[0] === "^" || set[0] === "!";
      const members = negated ? set.slice(1) : set;
      tokens.push({ kind: "one", test: (c) => inSet(members, c) !== negated });
    } else tokens.push({ kind: "one", test: (c) => c === ch });
  }
  return tokens;
}

function inSet(members: readonly string[], ch: string): boolean {
  for (let i = 0; i < members.length; i++) {
    if (members[i + 1] === "-" && i + 2 < members.length) {
      if (ch >= members[i]! && ch <= members[i + 2]!) return true;
      i += 2;
    } else if (members[i] === ch) return true;
  }
  return false;
}

/** A compiled pattern; the text is lowercased before matching. */
export function wildmat(pattern: string): (text: string) => boolean {
  const tokens = compile(pattern);
  return (input) => {
    const text = [...input.toLowerCase()];
    let t = 0;
    let p = 0;
    // Where the last star was, and which text position it has swallowed up to.
    let starP = -1;
    let starT = 0;
    while (t < text.length) {
      const token = tokens[p];
      if (token?.kind === "star") {
        starP = p++;
        starT = t;
      } else if (token !== undefined && token.test(text[t]!)) {
        p++;
        t++;
      } else if (starP !== -1) {
        p = starP + 1;
        t = ++starT;
      } else return false;
    }
    while (tokens[p]?.kind === "star") p++;
    return p === tokens.length;
  };
}

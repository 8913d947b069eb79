// RFC 822 header tokens as qmail-inject sees them (qmail's token822): a header field is cut into
// atoms, quoted strings, domain literals, comments and the specials , @ . < > ; : — then an
// address list is walked from right to left (where RFC 822's grammar is unambiguous), each address
// handed to a rewriting callback, and the field put back together with qmail's folding: a line
// break after a comma only where the line would otherwise pass 80 characters.
// We implement this ourselves rather than with an RFC 5322 library because qmail-inject accepts
// what those reject on purpose (a bare `joe`, `joe@host+`, `<@route:joe@host>`) and rewrites in
// place, keeping display names, groups and comments. Text is handled as latin1 strings (one
// character per byte), so no byte of a header is altered on the way through. Pure.

export type TokenType = "atom" | "quote" | "literal" | "comment" | "comma" | "at" | "dot" | "left" | "right" | "semi" | "colon";

export interface Token {
  readonly type: TokenType;
  /** The decoded text of an atom, quoted string, literal or comment; "" for specials. */
  readonly text: string;
}

const SPECIALS: Readonly<Record<string, TokenType>> = { ",": "comma", "@": "at", ".": "dot", "<": "left", ">": "right", ";": "semi", ":": "colon" };
const WHITESPACE = " \t\r\n";
/** Characters that end an atom. */
const ATOM_ENDS = ' \t\r\n(["<>;:@,.';

export const special = (type: TokenType): Token => ({ type, text: "" });

/**
 * Cuts `text` into tokens; null when it cannot be tokenised (an unbalanced `(`, `"` or `[`, a
 * stray `)` or `]`, a trailing backslash inside one of them).
 */
export function tokenize(text: string): Token[] | null {
  const tokens: Token[] = [];
  let i = 0;
  // The body of a comment, quoted string or literal, after its opening character; null if unterminated.
  const enclosed = (close: string, nests: boolean): string | null => {
    let depth = 1;
    let body = "";
    for (;;) {
      i += 1;
      if (i >= text.length) return null;
      const ch = text[i]!;
      if (ch === "\\") {
        i += 1;
        if (i >= text.length) return null;
        body += text[i];
      } else if (ch === close) {
        depth -= 1;
        if (depth === 0) return body;
        body += ch;
      } else {
        if (nests && ch === "(") depth += 1;
        body += ch;
      }
    }
  };
  for (; i < text.length; i++) {
    const ch = text[i]!;
    const specialType = SPECIALS[ch];
    if (specialType !== undefined) tokens.push(special(specialType));
    else if (WHITESPACE.includes(ch)) continue;
    else if (ch === ")" || ch === "]") return null;
    else if (ch === "(" || ch === '"' || ch === "[") {
      const type: TokenType = ch === "(" ? "comment" : ch === '"' ? "quote" : "literal";
      const body = enclosed(ch === "(" ? ")" : ch === '"' ? '"' : "]", ch === "(");
      if (body === null) return null;
      tokens.push({ type, text: body });
    } else {
      let atom = "";
      for (;;) {
        if (text[i] === "\\") {
          i += 1;
          if (i >= text.length) break;
        }
        atom += text[i];
        i += 1;
        if (i >= text.length || ATOM_ENDS.includes(text[i]!)) break;
      }
      i -= 1;
      // An atom holding bytes no atom may hold is written back as a quoted string.
      tokens.push({ type: /[^\x20-\x7e]|[)\]\\]/.test(atom) ? "quote" : "atom", text: atom });
    }
  }
  return tokens;
}

/** The address as a plain string: comments dropped, quoting and brackets of quoted strings removed. */
export function unquote(tokens: readonly Token[]): string {
  let out = "";
  for (const token of tokens) {
    if (token.type === "comment") continue;
    if (token.type === "literal") out += `[${token.text}]`;
    else if (token.type === "atom" || token.type === "quote") out += token.text;
    else out += SPECIAL_TEXT[token.type];
  }
  return out;
}

const SPECIAL_TEXT: Readonly<Record<string, string>> = { comma: ",", at: "@", dot: ".", left: "<", right: ">", semi: ";", colon: ":" };
const WORDS: ReadonlySet<TokenType> = new Set(["atom", "literal", "quote", "comment"]);

function needsSpace(last: TokenType | undefined, next: TokenType): boolean {
  if (last === undefined) return false;
  if (last === "colon" || last === "comma" || next === "left") return true;
  return WORDS.has(last) && WORDS.has(next);
}

const escaped = (text: string): string => text.replace(/["[\]()\\\r\n]/g, "\\$&");

/** The field text, ending in "\n", folded after commas where a line would pass `lineLength`. */
export function unparse(tokens: readonly Token[], lineLength = 80): string {
  const out: string[] = [];
  let lineStart = 0;
  // Where the last tentative "\n " after a comma sits, or -1.
  let foldAt = -1;
  const fold = (): void => {
    const end = out.length;
    if (foldAt >= 0 && end - lineStart <= lineLength) {
      // The line still fits with the next piece on it: take back the previous break.
      out.splice(foldAt, 2);
      foldAt = out.length;
    } else {
      if (foldAt >= 0) lineStart = foldAt + 1;
      foldAt = end;
    }
    out.push("\n", " ");
  };
  let last: TokenType | undefined;
  for (const token of tokens) {
    if (needsSpace(last, token.type)) out.push(" ");
    last = token.type;
    switch (token.type) {
      case "comma":
        out.push(",");
        fold();
        break;
      case "atom":
        out.push(...escaped(token.text));
        break;
      case "quote":
        out.push(...`"${escaped(token.text)}"`);
        break;
      case "literal":
        out.push(...`[${escaped(token.text)}]`);
        break;
      case "comment":
        out.push(...`(${escaped(token.text)})`);
        break;
      default:
        out.push(SPECIAL_TEXT[token.type]!);
    }
  }
  fold();
  out.pop();
  return out.join("");
}

/**
 * Walks the address list of a whole header field (`Name: list`, so the first two tokens are the
 * name and its colon), giving each address's tokens to `rewrite` and putting its result in their
 * place. Display names, comments, group names and `;` stay where they were. Null on a syntax
 * error (a `:` outside a group, nested groups, a `>` without its `<`).
 */
export function rewriteAddressList(field: readonly Token[], rewrite: (address: Token[]) => Token[]): Token[] | null {
  // Built from the right, so both lists are reversed until the end.
  const out: Token[] = [];
  let address: Token[] = [];
  const flush = (): void => {
    if (address.length > 0) out.push(...rewrite(address.reverse()).reverse());
    address = [];
  };
  const flushWithComma = (): void => {
    if (address.length === 0) return;
    flush();
    out.push(special("comma"));
  };
  const beginning = 2;
  let inGroup = false;
  let wordOk = true;
  let t = field.length - 1;
  while (t >= beginning) {
    const token = field[t]!;
    switch (token.type) {
      case "semi":
        flushWithComma();
        if (inGroup) return null;
        inGroup = true;
        wordOk = true;
        out.push(field[t--]!);
        break;
      case "colon":
        flush();
        if (!inGroup) return null;
        inGroup = false;
        // The group's name, back to the comma before it.
        while (t >= beginning && field[t]!.type !== "comma") out.push(field[t--]!);
        if (t >= beginning) out.push(field[t--]!);
        wordOk = true;
        break;
      case "right":
        flushWithComma();
        out.push(field[t--]!);
        while (t >= beginning && field[t]!.type !== "left") address.push(field[t--]!);
        // Even an empty <> is an address (the null sender) and goes to `rewrite`.
        out.push(...rewrite(address.reverse()).reverse());
        address = [];
        if (t < beginning) return null;
        out.push(field[t--]!);
        // The phrase in front of <…>.
        while (t >= beginning && ["comment", "atom", "quote", "at", "dot"].includes(field[t]!.type)) out.push(field[t--]!);
        wordOk = false;
        break;
      case "atom":
      case "quote":
      case "literal":
        if (!wordOk) flushWithComma();
        wordOk = false;
        address.push(field[t--]!);
        break;
      case "comment":
        // A comment counts as white space: it does not end a word sequence.
        out.push(field[t--]!);
        break;
      case "comma":
        flush();
        wordOk = true;
        out.push(field[t--]!);
        break;
      default:
        wordOk = true;
        address.push(field[t--]!);
    }
  }
  flush();
  for (let k = beginning - 1; k >= 0 && k < field.length; k--) out.push(field[k]!);
  return out.reverse();
}

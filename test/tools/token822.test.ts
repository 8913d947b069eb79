// qmail-inject's address rewriting and folding on single fields, in process (pure code): routes,
// the addresses left alone (<>, x@[], literals), stray dots and @s, comments and groups kept in
// place, and folding after commas only where a line would pass 80 characters.

import { describe, expect, it } from "vitest";
import { rewriteAddress, rewriteHosts } from "../../src/inject/rewrite-address.js";
import { rewriteAddressList, tokenize, unparse } from "../../src/inject/token822.js";

const hosts = rewriteHosts("h.example", "d.example", "p.example");

function rewrite(field: string): string | null {
  const tokens = tokenize(field);
  const rewritten = tokens === null ? null : rewriteAddressList(tokens, (a) => rewriteAddress(a, hosts));
  return rewritten === null ? null : unparse(rewritten);
}

describe("qmail-inject field rewriting", () => {
  it.each([
    ["To: <@r1,@r2:joe@host.example>\n", "To: <joe@host.example>\n"],
    ["To: <>\n", "To: <>\n"],
    ["To: x@[]\n", "To: x@[]\n"],
    ["To: joe@[192.0.2.1]\n", "To: joe@[192.0.2.1]\n"],
    ["To: joe@host.\n", "To: joe@host.d.example\n"],
    ["To: joe@\n", "To: joe@h.example\n"],
    ["To: joe (Joe Bloggs)\n", "To: joe@h.example (Joe Bloggs)\n"],
    ['To: "Joe B." <joe>, list: a, b@c;\n', 'To: "Joe B." <joe@h.example>, list: a@h.example, b@c.d.example;\n'],
    ['To: "odd local"@x.example\n', 'To: "odd local"@x.example\n'],
  ])("%j → %j", (field, expected) => {
    expect(rewrite(field)).toBe(expected);
  });

  it("folds after a comma only where the line would pass 80 characters, continuing with two spaces", () => {
    const names = Array.from({ length: 8 }, (_, i) => `recipient${i}@example.com`);
    expect(rewrite(`Cc: ${names.join(",")}\n`)).toBe(
      "Cc: recipient0@example.com, recipient1@example.com, recipient2@example.com,\n" +
        "  recipient3@example.com, recipient4@example.com, recipient5@example.com,\n" +
        "  recipient6@example.com, recipient7@example.com\n",
    );
  });

  it("refuses what does not parse: unbalanced quotes and comments, a : outside a group", () => {
    expect(rewrite('To: "open\n')).toBeNull();
    expect(rewrite("To: (open\n")).toBeNull();
    expect(rewrite("To: a: b\n")).toBeNull();
    // As in qmail: a ) inside a word makes it a quoted string, and a group left open is not checked.
    expect(rewrite("To: a@b)c\n")).toBe('To: a@"b\\)c".d.example\n');
    expect(rewrite("To: a; b\n")).toBe("To: a@h.example;, b@h.example\n");
  });
});

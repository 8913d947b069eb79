// The pure list matchers behind s/qmail's badhelo, badmailfrom and badrcptto: wildmat, every
// badmailfrom form, the linear-time regular expressions of QREGEX.

import { describe, expect, it } from "vitest";
import { compileBadHelo } from "../../src/services/smtpd/filters/badhelo.js";
import { compileBadMailFrom, type SenderFacts } from "../../src/services/smtpd/filters/badmailfrom.js";
import { compileBadRcptTo } from "../../src/services/smtpd/filters/badrcptto.js";
import { wildmat } from "../../src/services/smtpd/filters/wildmat.js";

describe("wildmat", () => {
  it.each([
    ["*.example.com", "mail.example.com", true],
    ["*.example.com", "example.com", false],
    ["?ail.example.com", "Mail.Example.COM", true],
    ["[a-c]x*", "bxyz", true],
    ["[!a-c]x*", "bxyz", false],
    ["[^a-c]x*", "dx", true],
    ["a\\*b", "a*b", true],
    ["a\\*b", "axb", false],
    ["*a*b*c*", "xxaxxbxxc", true],
    ["*a*b*c*", "xxaxxcxxb", false],
    ["", "", true],
  ])("%j against %j → %s", (pattern, text, expected) => {
    expect(wildmat(pattern)(text)).toBe(expected);
  });

  it("many stars on a long text that fails only at the end still finish (one backtrack point)", () => {
    expect(wildmat(`${"*a".repeat(40)}b`)(`${"a".repeat(20_000)}c`)).toBe(false);
  });
});

describe("badmailfrom forms", () => {
  const facts = (sender: string, extra: Partial<SenderFacts> = {}): SenderFacts => ({ sender, relay: false, remoteHost: "client.isp.test", ...extra });

  it("exact address and @domain reject, ignoring case; the null sender never matches", () => {
    const check = compileBadMailFrom(["spam@bad.test", "@worse.test"], "wildmat");
    expect(check(facts("SPAM@Bad.test"))).toBe("reject");
    expect(check(facts("anyone@worse.test"))).toBe("reject");
    expect(check(facts("anyone@sub.worse.test"))).toBe("pass");
    expect(check(facts("ham@bad.test"))).toBe("pass");
    expect(check(facts(""))).toBe("pass");
  });

  it("?addr exempts when it comes first; the first matching entry wins", () => {
    const check = compileBadMailFrom(["?boss@worse.test", "@worse.test", "?late@worse.test"], "wildmat");
    expect(check(facts("boss@worse.test"))).toBe("exempt");
    expect(check(facts("late@worse.test"))).toBe("reject");
  });

  it("@dom+ rejects only clients that may not relay", () => {
    const check = compileBadMailFrom(["@ours.test+"], "wildmat");
    expect(check(facts("me@ours.test"))).toBe("reject");
    expect(check(facts("me@ours.test", { relay: true }))).toBe("pass");
  });

  it("@dom- rejects only clients without a host name", () => {
    const check = compileBadMailFrom(["@bank.test-"], "wildmat");
    expect(check(facts("x@bank.test", { remoteHost: undefined }))).toBe("reject");
    expect(check(facts("x@bank.test", { remoteHost: "unknown" }))).toBe("reject");
    expect(check(facts("x@bank.test"))).toBe("pass");
  });

  it("@dom= rejects clients whose host name is not in dom", () => {
    const check = compileBadMailFrom(["@bank.test="], "wildmat");
    expect(check(facts("x@bank.test", { remoteHost: "mx1.bank.test" }))).toBe("pass");
    expect(check(facts("x@bank.test", { remoteHost: "bank.test" }))).toBe("pass");
    expect(check(facts("x@bank.test", { remoteHost: "evilbank.test" }))).toBe("reject");
    expect(check(facts("x@bank.test", { remoteHost: undefined }))).toBe("reject");
  });

  it("~host rejects listed client hosts sending as another domain", () => {
    const check = compileBadMailFrom(["~.dialup.isp.test", "~static.isp.test"], "wildmat");
    expect(check(facts("x@gmail.test", { remoteHost: "p1.dialup.isp.test" }))).toBe("reject");
    expect(check(facts("x@gmail.test", { remoteHost: "static.isp.test" }))).toBe("reject");
    expect(check(facts("x@isp.test", { remoteHost: "static.isp.test" }))).toBe("pass");
    expect(check(facts("x@gmail.test", { remoteHost: "mail.isp.test" }))).toBe("pass");
  });

  it("wildmat entries reject, and a ! entry rejects what its pattern does not match", () => {
    const check = compileBadMailFrom(["*@*.spam.test", "!*@*.*"], "wildmat");
    expect(check(facts("a@b.spam.test"))).toBe("reject");
    expect(check(facts("a@nodot"))).toBe("reject");
    expect(check(facts("a@fine.test"))).toBe("pass");
  });

  it("QREGEX: entries are regular expressions, matched anywhere unless anchored", () => {
    const check = compileBadMailFrom(["^[0-9]+@", "!\\.test$"], "regex");
    expect(check(facts("12345@x.test"))).toBe("reject");
    expect(check(facts("a1@x.test"))).toBe("pass");
    expect(check(facts("a@x.example"))).toBe("reject");
  });

  it("QREGEX: an invalid expression is an error at compile time", () => {
    expect(() => compileBadMailFrom(["(unclosed"], "regex")).toThrow();
  });
});

describe("badhelo and badrcptto", () => {
  it("badhelo: name! exempts a name the patterns below would reject", () => {
    const check = compileBadHelo(["mail.friend.test!", "*.test", "localhost"], "wildmat");
    expect(check("mail.friend.test")).toBe("exempt");
    expect(check("other.test")).toBe("reject");
    expect(check("LOCALHOST")).toBe("reject");
    expect(check("mx.example.org")).toBe("pass");
  });

  it("badrcptto: exact, @domain, wildmat and negated wildmat", () => {
    const check = compileBadRcptTo(["root@example.test", "@trap.test", "*-owner@*", "!*@*"], "wildmat");
    expect(check("Root@example.test")).toBe(true);
    expect(check("x@trap.test")).toBe(true);
    expect(check("list-owner@example.test")).toBe(true);
    expect(check("noat")).toBe(true);
    expect(check("bob@example.test")).toBe(false);
  });
});

// qmail-remote's quote2(): which local parts go out quoted in MAIL FROM and RCPT TO.

import { describe, expect, it } from "vitest";
import { quoteAddress } from "../../src/services/rspawn/quote-address.js";

describe("quoteAddress", () => {
  it.each([
    ["", ""],
    ["a.b+c-d=e@x.test", "a.b+c-d=e@x.test"],
    ["!#$%&'*+/=?^_`{|}~@x.test", "!#$%&'*+/=?^_`{|}~@x.test"],
    ["nodomain", "nodomain"],
  ])("leaves a dot-atom, the domain and the empty sender alone: %j", (address, quoted) => expect(quoteAddress(address)).toBe(quoted));

  it.each([
    ["john doe@x.test", '"john doe"@x.test'],
    ["a(b)@x.test", '"a(b)"@x.test'],
    [".a@x.test", '".a"@x.test'],
    ["a.@x.test", '"a."@x.test'],
    ["a..b@x.test", '"a..b"@x.test'],
    ["@x.test", '""@x.test'],
    ["j\u00f6rg@x.test", '"j\u00f6rg"@x.test'],
    ["a@b@x.test", '"a@b"@x.test'],
    ['say "hi"\\@x.test', '"say \\"hi\\"\\\\"@x.test'],
  ])("quotes specials, spaces, 8-bit bytes, odd dots and an empty local part (split at the last @): %j", (address, quoted) =>
    expect(quoteAddress(address)).toBe(quoted),
  );
});

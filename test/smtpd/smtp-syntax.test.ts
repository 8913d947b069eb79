// qmail's address parser and the AUTH PLAIN blob, as the relay check and AUTH see them.

import { describe, expect, it } from "vitest";
import { addressDomain, parseAddress, plainCredentials } from "../../machines/smtp-syntax.js";

describe("parseAddress", () => {
  it("drops a source route, quotes and backslashes; the domain is after the last @", () => {
    const domainOf = (argument: string) => addressDomain(parseAddress(argument, true)!.address);
    expect(domainOf("TO:<@relay.test,@other.test:victim@remote.test>")).toBe("remote.test");
    expect(domainOf('TO:<"victim@remote.test"@local.test>')).toBe("local.test");
    expect(domainOf("TO:<victim\\@remote.test@local.test>")).toBe("local.test");
    expect(domainOf("TO:<victim@remote.test@local.test>")).toBe("local.test");
    expect(parseAddress('TO:<"a b"@x.test>', true)!.address).toBe("a b@x.test");
  });

  it("reads ESMTP parameters after the address; refuses MAIL without <, CR or NUL inside, over 900 bytes", () => {
    expect([...parseAddress("FROM:<a@b.test> SIZE=123 body=8BITMIME SMTPUTF8", false)!.parameters]).toEqual([["SIZE", "123"], ["BODY", "8BITMIME"], ["SMTPUTF8", ""]]);
    expect(parseAddress("FROM:a@b.test", false)).toBeUndefined();
    expect(parseAddress("TO:a@b.test", true)!.address).toBe("a@b.test");
    expect(parseAddress("TO:<a\r@b.test>", true)).toBeUndefined();
    expect(parseAddress("TO:<a\0@b.test>", true)).toBeUndefined();
    expect(parseAddress(`TO:<${"a".repeat(900)}@b.test>`, true)).toBeUndefined();
  });
});

describe("plainCredentials", () => {
  it("takes an empty or equal authzid, refuses another user's, and malformed blobs", () => {
    expect(plainCredentials("\0alice\0pw")).toEqual({ user: "alice", password: "pw" });
    expect(plainCredentials("alice\0alice\0pw")).toEqual({ user: "alice", password: "pw" });
    expect(plainCredentials("admin\0alice\0pw")).toBe("mismatch");
    expect(plainCredentials("alice\0pw")).toBe("malformed");
    expect(plainCredentials("\0alice\0p\0w")).toBe("malformed");
    expect(plainCredentials("\0alice\0p\nw")).toBe("malformed");
  });
});

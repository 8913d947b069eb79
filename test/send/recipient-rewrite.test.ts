// qmail-send's recipient rewriting: envnoathost, percent hack, locals, virtualdomains.

import { describe, expect, it } from "vitest";
import { ConstMap } from "../../src/config/constmap.js";
import { domainSet, rewriteRecipient, stripVirtualPrefix, type RewriteControl } from "../../src/services/send/recipient-rewrite.js";

const control = (overrides: Partial<RewriteControl> = {}): RewriteControl => ({
  envnoathost: "mail.example.test",
  percenthack: domainSet([]),
  locals: domainSet(["example.test", "Mail.Example.Test"]),
  virtualdomains: new ConstMap(),
  ...overrides,
});

describe("recipient rewriting", () => {
  it("appends @envnoathost to an address without @", () => {
    expect(rewriteRecipient("bob", control())).toEqual({ channel: "local", address: "bob@mail.example.test" });
  });

  it("delivers locals unchanged, case-insensitively, and everything unknown remotely", () => {
    expect(rewriteRecipient("Bob@EXAMPLE.test", control())).toEqual({ channel: "local", address: "Bob@EXAMPLE.test" });
    expect(rewriteRecipient("bob@far.test", control())).toEqual({ channel: "remote", address: "bob@far.test" });
  });

  it("applies the percent hack while the domain is listed, the last % first", () => {
    const c = control({ percenthack: domainSet(["dom.test", "y"]) });
    expect(rewriteRecipient("u%x%y@dom.test", c)).toEqual({ channel: "remote", address: "u@x" });
    expect(rewriteRecipient("u%x@other.test", c)).toEqual({ channel: "remote", address: "u%x@other.test" });
  });

  it("virtualdomains: the address, then the domain, then each .suffix, then the catch-all; '' stops", () => {
    const vd = new ConstMap([
      ["joe@virt.test", "joeuser"],
      ["virt.test", "alice"],
      [".deep.test", "deep"],
      ["opt.out.deep.test", ""],
    ]);
    const c = control({ virtualdomains: vd });
    expect(rewriteRecipient("joe@virt.test", c)).toEqual({ channel: "local", address: "joeuser-joe@virt.test" });
    expect(rewriteRecipient("ann@Virt.Test", c)).toEqual({ channel: "local", address: "alice-ann@Virt.Test" });
    expect(rewriteRecipient("ann@a.b.deep.test", c)).toEqual({ channel: "local", address: "deep-ann@a.b.deep.test" });
    expect(rewriteRecipient("ann@opt.out.deep.test", c)).toEqual({ channel: "remote", address: "ann@opt.out.deep.test" });
    const catchAll = control({ virtualdomains: new ConstMap([["", "catch"]]) });
    expect(rewriteRecipient("ann@far.test", catchAll)).toEqual({ channel: "local", address: "catch-ann@far.test" });
  });

  it("locals win over virtualdomains", () => {
    const c = control({ virtualdomains: new ConstMap([["example.test", "alice"]]) });
    expect(rewriteRecipient("ann@example.test", c).address).toBe("ann@example.test");
  });

  it("strips the virtual-domain prefix again for a bounce, even a prefix with a dash", () => {
    const vd = new ConstMap([["virt.test", "alice-list"]]);
    expect(stripVirtualPrefix("alice-list-ann@virt.test", vd)).toBe("ann@virt.test");
    expect(stripVirtualPrefix("bob-ann@virt.test", vd)).toBe("bob-ann@virt.test");
    expect(stripVirtualPrefix("ann@example.test", vd)).toBe("ann@example.test");
  });
});

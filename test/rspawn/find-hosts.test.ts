// Where remote delivery connects: smtproutes and qmtproutes (keys, ports, empty relay,
// `|user|pass`, `!@` for bounces, 465 as SMTPS, 209/6209 for QMTP), literals, MX and A
// lookups against a real DNS server on loopback, preference order with random ties, the
// "points back to me" cut, and DNS failures mapped as qmail maps them.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConstMap } from "../../src/config/constmap.js";
import { createDns } from "../../src/io/dns.js";
import { findHosts, preferenceOrder, routeFor, type FindHostsSettings } from "../../src/services/rspawn/find-hosts.js";
import { startLoopbackDns, type LoopbackDns } from "../net/loopback-dns.js";

let dns: LoopbackDns;

beforeAll(async () => {
  dns = await startLoopbackDns({
    "two.test": [
      { mx: "mx-b.two.test", preference: 20 },
      { mx: "mx-a.two.test", preference: 10 },
      { mx: "gone.two.test", preference: 5 },
    ],
    "mx-a.two.test": [{ a: "127.0.0.3" }],
    "mx-b.two.test": [{ a: "127.0.0.4" }, { a: "127.0.0.5" }],
    "plain.test": [{ a: "127.0.0.6" }],
    "backup.test": [
      { mx: "primary.backup.test", preference: 10 },
      { mx: "me.backup.test", preference: 20 },
      { mx: "tertiary.backup.test", preference: 30 },
    ],
    "primary.backup.test": [{ a: "127.0.0.7" }],
    "me.backup.test": [{ a: "127.0.0.1" }],
    "tertiary.backup.test": [{ a: "127.0.0.8" }],
    "loop.test": [{ mx: "me.backup.test", preference: 0 }],
    "broken.test": "servfail",
    "relay.test": [{ a: "127.0.0.9" }],
  });
});
afterAll(() => dns.close());

function settings(): FindHostsSettings {
  return { dns: createDns({ site: "test", servers: [dns.server], timeoutMs: 2000 }), defaultPort: 25, isMe: (ip) => ip === "127.0.0.1", random: () => 0.5 };
}

/** Where mail to `recipient` goes, routed by `routes` as smtproutes. */
function hosts(recipient: string, routes: Record<string, string> = {}) {
  const domain = recipient.slice(recipient.lastIndexOf("@") + 1);
  return findHosts(settings(), routeFor(smtpOnly(routes), domain), domain);
}

/** Route tables with `routes` as smtproutes and `qmtp` as qmtproutes. */
function smtpOnly(routes: Record<string, string>, qmtp: Record<string, string> = {}) {
  return { smtp: new ConstMap(Object.entries(routes)), qmtp: new ConstMap(Object.entries(qmtp)) };
}

describe("routeFor", () => {
  const routes = smtpOnly({ "a.example": "relay-a:2525", ".sub.example": "relay-sub;26", "": "smarthost", "mx.example": "", "v6.example": "[::1]:27", "auth.example": "relay|user|p:a|ss;587" });
  const plain = (relay: string | undefined, port: number | undefined, protocol = "smtp") => ({ relay, port, credentials: undefined, protocol });
  it("tries the domain, each .suffix, then the default; an empty relay means MX", () => {
    expect(routeFor(routes, "A.Example")).toEqual(plain("relay-a", 2525));
    expect(routeFor(routes, "x.y.sub.example")).toEqual(plain("relay-sub", 26));
    expect(routeFor(routes, "sub.example")).toEqual(plain("smarthost", undefined));
    expect(routeFor(routes, "mx.example")).toBeUndefined();
    expect(routeFor(routes, "v6.example")).toEqual(plain("[::1]", 27));
    expect(routeFor(smtpOnly({}), "a.example")).toBeUndefined();
  });

  it("relay|user|pass;port carries credentials (the password may hold : and |)", () => {
    expect(routeFor(routes, "auth.example")).toEqual({ relay: "relay", port: 587, credentials: { user: "user", pass: "p:a|ss" }, protocol: "smtp" });
  });

  it("qmtproutes is asked before smtproutes at each key; an empty QMTP relay means MX by QMTP", () => {
    const tables = smtpOnly({ "a.example": "smtp-a", ".example": "smtp-suffix" }, { ".example": "qmtp-suffix;6209", "b.example": "" });
    expect(routeFor(tables, "a.example")).toEqual(plain("smtp-a", undefined));
    expect(routeFor(tables, "x.example")).toEqual(plain("qmtp-suffix", 6209, "qmtp"));
    expect(routeFor(tables, "b.example")).toEqual(plain(undefined, undefined, "qmtp"));
  });

  it("!@ routes bounces (empty sender) before any domain's route; other senders ignore it", () => {
    const withBounces = smtpOnly({ "a.example": "relay-a", "!@": "bounces.example;2500" });
    expect(routeFor(withBounces, "a.example", "")).toEqual(plain("bounces.example", 2500));
    expect(routeFor(withBounces, "a.example", "someone@b.example")).toEqual(plain("relay-a", undefined));
    expect(routeFor(withBounces, "c.example", "someone@b.example")).toBeUndefined();
  });
});

describe("preferenceOrder", () => {
  it("sorts by preference and shuffles ties with the random source", () => {
    const candidates = [{ ip: "b", preference: 10 }, { ip: "a", preference: 5 }, { ip: "c", preference: 10 }, { ip: "d", preference: 10 }];
    const orders = new Set<string>();
    for (const r of [0, 0.34, 0.67, 0.99]) {
      const order = preferenceOrder(candidates, () => r);
      expect(order[0]!.ip).toBe("a");
      expect(order.map((c) => c.preference)).toEqual([5, 10, 10, 10]);
      orders.add(order.map((c) => c.ip).join(""));
    }
    expect(orders.size).toBeGreaterThan(1);
  });
});

describe("findHosts", () => {
  it("MX records in preference order, each exchanger's addresses; an exchanger without address is skipped", async () => {
    const found = await hosts("user@two.test");
    expect(found.ok && found.hosts.map((h) => h.ip)).toEqual(["127.0.0.3", expect.stringMatching(/^127\.0\.0\.[45]$/), expect.stringMatching(/^127\.0\.0\.[45]$/)]);
  });

  it("no MX records: the domain's own address", async () => {
    expect(await hosts("user@plain.test")).toEqual({ ok: true, hosts: [{ ip: "127.0.0.6", port: 25, implicitTls: false }] });
  });

  it("drops MX at or after the preference where this host appears; nothing left is the ambiguous-MX bounce", async () => {
    expect(await hosts("user@backup.test")).toEqual({ ok: true, hosts: [{ ip: "127.0.0.7", port: 25, implicitTls: false }] });
    const loop = await hosts("user@loop.test");
    expect(loop).toMatchObject({ ok: false, status: "D", text: expect.stringContaining("(#5.4.6)") });
  });

  it("a route to a name or a literal replaces the MX, and is not cut for being this host", async () => {
    expect(await hosts("u@loop.test", { "loop.test": "relay.test:2525" })).toEqual({ ok: true, hosts: [{ ip: "127.0.0.9", port: 2525, implicitTls: false }] });
    expect(await hosts("u@anything.test", { "": "[127.0.0.1];2526" })).toEqual({ ok: true, hosts: [{ ip: "127.0.0.1", port: 2526, implicitTls: false }] });
  });

  it("a route to port 465 is SMTPS, a QMTP route to 6209 QMTPS: TLS from the first byte; QMTP's own port is 209", async () => {
    expect(await hosts("u@x.test", { "": "[127.0.0.2];465" })).toEqual({ ok: true, hosts: [{ ip: "127.0.0.2", port: 465, implicitTls: true }] });
    const qmtp = (value: string) => findHosts(settings(), routeFor(smtpOnly({}, { "": value }), "x.test"), "x.test");
    expect(await qmtp("[127.0.0.2];6209")).toEqual({ ok: true, hosts: [{ ip: "127.0.0.2", port: 6209, implicitTls: true }] });
    expect(await qmtp("[127.0.0.2]")).toEqual({ ok: true, hosts: [{ ip: "127.0.0.2", port: 209, implicitTls: false }] });
  });

  it("a literal domain is used as it is (and here it is this host: ambiguous)", async () => {
    expect(await hosts("u@[127.0.0.2]")).toEqual({ ok: true, hosts: [{ ip: "127.0.0.2", port: 25, implicitTls: false }] });
    expect(await hosts("u@[127.0.0.1]")).toMatchObject({ ok: false, status: "D" });
  });

  it("NXDOMAIN is permanent (#5.1.2), SERVFAIL temporary (#4.1.2)", async () => {
    expect(await hosts("u@nowhere.test")).toEqual({ ok: false, status: "D", text: "Sorry, I couldn't find any host named nowhere.test. (#5.1.2)" });
    expect(await hosts("u@broken.test")).toEqual({ ok: false, status: "Z", text: "Sorry, I couldn't find any host by that name. (#4.1.2)" });
  });
});

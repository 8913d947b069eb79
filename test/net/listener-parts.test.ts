// The listener's parts on their own: settings from a service's env (and their errors), the
// connection environment for cases loopback cannot produce (link-local zones, v4-mapped
// addresses), the per-client count for IPv6, and the socket and DNS fault points, driven
// in-process with a fault hook.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { createDns } from "../../src/io/dns.js";
import { setFaultHook, systemError, type FaultPoint } from "../../src/io/faults.js";
import { connectionEnv, peerAddress, ucspiVariables } from "../../src/net/connection-env.js";
import { ConnectionLimits } from "../../src/net/connection-limits.js";
import { ConnectionRules } from "../../src/net/connection-rules.js";
import { listenerSettings } from "../../src/net/listener-settings.js";
import { startTcpListener, type TcpListener } from "../../src/net/tcp-listener.js";
import { waitFor } from "../runtime/test-root.js";
import { connectTcp, echo, session, untilClosed } from "./listener-harness.js";
import { startLoopbackDns } from "./loopback-dns.js";

const settingsFor = (env: Record<string, string>) => listenerSettings({ service: "smtpd", root: "/srv/mail", env });

describe("listener settings", () => {
  it("reads the envdir's values, with tcpserver's defaults", () => {
    expect(settingsFor({ PORT: "25" })).toEqual({
      ip: undefined,
      port: 25,
      concurrency: 40,
      perClient: 40,
      rules: { path: "/srv/mail/service/smtpd/rules.cdb", label: "service/smtpd/rules.cdb", required: false },
      reverse: { timeoutMs: 5000, servers: undefined },
      localName: undefined,
    });
    expect(
      settingsFor({ IP: "::1", PORT: "2525", CONCURRENCY: "100", PERIP: "5", RULES: "/etc/tcp.smtp.cdb", REVERSE: "1", REVERSETIMEOUT: "2", DNSSERVERS: "127.0.0.1:5353, [::1]:53", LOCALNAME: "mx.example.org" }),
    ).toEqual({
      ip: "::1",
      port: 2525,
      concurrency: 100,
      perClient: 5,
      rules: { path: "/etc/tcp.smtp.cdb", label: "/etc/tcp.smtp.cdb", required: true },
      reverse: { timeoutMs: 2000, servers: ["127.0.0.1:5353", "[::1]:53"] },
      localName: "mx.example.org",
    });
    expect(settingsFor({ IP: "0", PORT: "25", REVERSE: "0", RULES: "tcp.cdb" })).toMatchObject({
      ip: undefined,
      reverse: undefined,
      rules: { path: "/srv/mail/service/smtpd/tcp.cdb", label: "service/smtpd/tcp.cdb", required: true },
    });
  });

  it.each([
    [{ PORT: "25", CONCURRENCY: "x" }, 'service/smtpd/env/CONCURRENCY: not a number: "x"'],
    [{ PORT: "25", CONCURRENCY: "0" }, "service/smtpd/env/CONCURRENCY: out of range 1–1000000: 0"],
    [{}, "service/smtpd/env/PORT: missing"],
    [{ PORT: "70000" }, "service/smtpd/env/PORT: out of range 0–65535: 70000"],
    [{ PORT: "25", CONCURRENCY: "10", PERIP: "20" }, "service/smtpd/env/PERIP: out of range 1–10: 20"],
    [{ PORT: "25", IP: "mx.example.org" }, 'service/smtpd/env/IP: not an IP address: "mx.example.org"'],
    [{ PORT: "25", REVERSE: "yes" }, 'service/smtpd/env/REVERSE: not 0 or 1: "yes"'],
    [{ PORT: "25", REVERSE: "0", REVERSETIMEOUT: "1.5" }, 'service/smtpd/env/REVERSETIMEOUT: not a number: "1.5"'],
    [{ PORT: "25", DNSSERVERS: "dns.example.org" }, 'service/smtpd/env/DNSSERVERS: not a DNS server address: "dns.example.org"'],
    [{ PORT: "25", DNSSERVERS: "127.0.0.1:65536" }, 'service/smtpd/env/DNSSERVERS: not a DNS server address: "127.0.0.1:65536"'],
  ])("refuses %j", (env, message) => {
    expect(() => settingsFor(env)).toThrow(ConfigError);
    expect(() => settingsFor(env)).toThrow(message);
  });

  it("a rules file named by RULES must exist; the default one may be missing", async () => {
    const missing = { path: "/nonexistent/rules.cdb", label: "service/smtpd/rules.cdb" };
    await expect(ConnectionRules.load({ ...missing, required: true })).rejects.toThrow("service/smtpd/rules.cdb: missing (RULES names it)");
    const none = await ConnectionRules.load({ ...missing, required: false });
    expect(none.match({ ip: "192.0.2.1" })).toEqual({ allow: true, env: [], rule: undefined });
  });
});

describe("connection environment", () => {
  const endpoints = (local: string, remote: string) => ({
    local: peerAddress(local),
    localPort: 25,
    localHost: undefined,
    remote: peerAddress(remote),
    remotePort: 40000,
    remoteHost: "client.example.net",
  });

  it("a v4-mapped client is an IPv4 client, without TCP6 variables", () => {
    expect(ucspiVariables(endpoints("::ffff:192.0.2.1", "::ffff:198.51.100.7"))).toEqual([
      ["PROTO", "TCP"],
      ["TCPLOCALIP", "192.0.2.1"],
      ["TCPLOCALPORT", "25"],
      ["TCPREMOTEIP", "198.51.100.7"],
      ["TCPREMOTEPORT", "40000"],
      ["TCPREMOTEHOST", "client.example.net"],
    ]);
  });

  it("a link-local client's interface is TCP6INTERFACE, and its address is given without the zone", () => {
    const pairs = new Map(ucspiVariables(endpoints("fe80::1%eth0", "fe80::2%eth0")));
    expect(pairs.get("PROTO")).toBe("TCP6");
    expect(pairs.get("TCPREMOTEIP")).toBe("fe80::2");
    expect(pairs.get("TCP6REMOTEIP")).toBe("fe80::2");
    expect(pairs.get("TCP6REMOTEHOST")).toBe("client.example.net");
    expect(pairs.get("TCP6INTERFACE")).toBe("eth0");
  });

  it("drops the service's stale connection variables; a rule's variables override tcpserver's", () => {
    const env = connectionEnv(
      { PATH: "/bin", TCPREMOTEHOST: "stale", TCP6INTERFACE: "stale", SSL_CIPHER: "stale", DATABYTES: "0" },
      [["TCPREMOTEIP", "192.0.2.9"]],
      [["DATABYTES", "1000"], ["TCPREMOTEIP", "from rule"]],
    );
    expect(env).toEqual({ PATH: "/bin", TCPREMOTEIP: "from rule", DATABYTES: "1000" });
  });
});

describe("connection limits", () => {
  it("counts an IPv6 client per /64 and an IPv4 client per address", () => {
    const limits = new ConnectionLimits(10, 2);
    expect(limits.admit(peerAddress("2001:db8:1:2::a"))).toBeUndefined();
    expect(limits.admit(peerAddress("2001:db8:1:2:ffff::b"))).toBeUndefined();
    expect(limits.admit(peerAddress("2001:db8:1:2::c"))).toBe("per-client");
    expect(limits.admit(peerAddress("2001:db8:1:3::a"))).toBeUndefined();
    expect(limits.admit(peerAddress("192.0.2.1"))).toBeUndefined();
    expect(limits.admit(peerAddress("::ffff:192.0.2.1"))).toBeUndefined();
    expect(limits.admit(peerAddress("192.0.2.1"))).toBe("per-client");
    expect(limits.admit(peerAddress("192.0.2.2"))).toBeUndefined();
    limits.release(peerAddress("2001:db8:1:2::a"));
    expect(limits.admit(peerAddress("2001:db8:1:2::c"))).toBeUndefined();
    expect(limits.active).toBe(6);
  });
});

describe("DNS seam", () => {
  it("a reverse lookup that gets no answer rejects with ETIMEOUT at its deadline", async () => {
    const silent = await startLoopbackDns("silent");
    try {
      const dns = createDns({ site: "test", servers: [silent.server], timeoutMs: 300 });
      const started = Date.now();
      await expect(dns.reverse("192.0.2.1")).rejects.toMatchObject({ code: "ETIMEOUT" });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(Date.now() - started).toBeLessThan(550);
      expect(silent.queries()).toBeGreaterThanOrEqual(1);
    } finally {
      await silent.close();
    }
  });
});

describe("fault points", () => {
  let listener: TcpListener | undefined;
  let root: string | undefined;
  let lines: string[] = [];
  afterEach(async () => {
    setFaultHook(undefined);
    await listener?.close();
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
    listener = undefined;
    root = undefined;
  });

  async function start(env: Record<string, string>): Promise<number> {
    root = mkdtempSync(join(tmpdir(), "tsqmail-net-"));
    const own: string[] = [];
    lines = own;
    listener = await startTcpListener({
      settings: listenerSettings({ service: "faulty", root, env: { IP: "127.0.0.1", PORT: "0", REVERSE: "0", ...env } }),
      env: {},
      site: "faulty",
      log: (line) => own.push(line),
      onConnection: (socket, connectionEnv) => {
        socket.write(`TCPREMOTEHOST=${connectionEnv.TCPREMOTEHOST ?? ""}\n.\n`);
        socket.pipe(socket);
      },
    });
    return listener.address.port;
  }

  const failAt = (op: string, code: string) =>
    setFaultHook((point: FaultPoint) => {
      if (point.site === "faulty" && point.op === op) throw systemError(code, point);
    });

  it("accept: the connection is reset and the failure logged; the listener goes on", async () => {
    const port = await start({});
    failAt("accept", "ECONNABORTED");
    expect(await untilClosed(connectTcp(port))).toBe("");
    expect(lines.join("\n")).toMatch(/tcpserver: warning: accept failed: ECONNABORTED: injected fault, accept \(faulty\)/);
    setFaultHook(undefined);
    expect(await echo((await session(connectTcp(port))).socket, "after")).toBe("after\n");
  });

  it("write and read: the socket is destroyed with the injected error", async () => {
    const port = await start({});
    failAt("write", "EPIPE");
    expect(await untilClosed(connectTcp(port))).toBe("");
    failAt("read", "ECONNRESET");
    const { socket } = await session(connectTcp(port));
    socket.write("never echoed\n");
    expect(await untilClosed(socket)).toBe("");
    await waitFor(() => lines.filter((line) => line.startsWith("tcpserver: end")).length === 2, 5000, `two ends in ${lines.join(" | ")}`);
  });

  it("a failed reverse lookup leaves the name unknown and the connection goes ahead", async () => {
    const dns = await startLoopbackDns({ "2.0.0.127.in-addr.arpa": "client.example.test" });
    try {
      const port = await start({ REVERSE: "1", DNSSERVERS: dns.server });
      failAt("reverse", "ESERVFAIL");
      expect((await session(connectTcp(port, "127.0.0.1", "127.0.0.2"))).env.TCPREMOTEHOST).toBe("");
      expect(dns.queries()).toBe(0);
      setFaultHook(undefined);
      expect((await session(connectTcp(port, "127.0.0.1", "127.0.0.2"))).env.TCPREMOTEHOST).toBe("client.example.test");
    } finally {
      await dns.close();
    }
  });
});

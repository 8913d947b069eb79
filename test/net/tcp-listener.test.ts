// The tcpserver listener in real worker threads (the echo-listener fixture under createRuntime),
// on loopback: the environment compared with Debian's tcpserver, rules, limits, IPv6, implicit
// TLS and reverse lookups.

import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { buildCdb } from "../../src/config/cdb-writer.js";
import { compileRules } from "../../src/config/tcprules-compile.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { makeRoot, waitFor } from "../runtime/test-root.js";
import { addEchoListener, BASE_ENV, connectTcp, debianTcprules, echo, session, startListeners, untilClosed } from "./listener-harness.js";
import { startLoopbackDns, type LoopbackDns } from "./loopback-dns.js";

const CONNECTION_NAMES = /^(PROTO|TCP.*|SSL_.*)$/;
const pick = (env: Readonly<Record<string, string>>, names: RegExp) => Object.fromEntries(Object.entries(env).filter(([name]) => names.test(name)));

describe("environment", () => {
  it("is what Debian's tcpserver sets, rule variables included, stale ones removed", async () => {
    const rules = `127.0.0.1:allow,RELAYCLIENT="",GREETING="hi: there"\n:deny\n`;
    const listeners = await startListeners({ echo: { IP: "127.0.0.1", PORT: "0", REVERSE: "0", LOCALNAME: "mx.example.test" } }, (dir) =>
      debianTcprules(join(dir("echo"), "rules.cdb"), rules),
    );
    const ours = await session(connectTcp(await listeners.port("echo")));

    const cdb = join(listeners.serviceDir("echo"), "rules.cdb");
    const tcpserver = spawn("tcpserver", ["-1", "-H", "-R", "-l", "mx.example.test", "-x", cdb, "127.0.0.1", "0", "sh", "-c", "env; echo ."], {
      env: BASE_ENV,
      stdio: ["ignore", "pipe", "ignore"],
    });
    try {
      const [portLine] = (await once(tcpserver.stdout, "data")) as [Buffer];
      const theirs = await session(connectTcp(Number(portLine.toString().trim())));

      // Debian's tcpserver is ucspi-tcp 0.88: it knows no TCP6 variables, so it leaves a stale
      // one alone; we remove those too (below).
      const relevant = /^(PROTO|TCP[A-Z]*|RELAYCLIENT|GREETING)$/;
      const withoutPorts = (s: typeof ours) => {
        expect(s.env.TCPREMOTEPORT).toBe(String(s.socket.localPort));
        expect(s.env.TCPLOCALPORT).toBe(String(s.socket.remotePort));
        return { ...pick(s.env, relevant), TCPLOCALPORT: "(listener)", TCPREMOTEPORT: "(client)" };
      };
      expect(withoutPorts(ours)).toEqual(withoutPorts(theirs));
      expect(withoutPorts(ours)).toEqual({
        PROTO: "TCP",
        TCPLOCALIP: "127.0.0.1",
        TCPLOCALHOST: "mx.example.test",
        TCPLOCALPORT: "(listener)",
        TCPREMOTEIP: "127.0.0.1",
        TCPREMOTEPORT: "(client)",
        RELAYCLIENT: "",
        GREETING: "hi: there",
      });
      expect(theirs.env.TCP6REMOTEIP).toBe("stale");
      expect(ours.env.TCP6REMOTEIP).toBeUndefined();
      theirs.socket.destroy();
    } finally {
      tcpserver.kill();
    }
    expect(await echo(ours.socket, "still there")).toBe("still there\n");
    ours.socket.destroy();
    await waitFor(() => /tcpserver: end 1 status 0/.test(listeners.log("echo")), 5000, "end line");
    await listeners.logShows("echo", /tcpserver: ok 1 mx\.example\.test:127\.0\.0\.1:\d+ :127\.0\.0\.1::\d+/);
  });
});

describe("rules", () => {
  const RULES = `127.0.0.3:deny\n127.0.0.:allow,CLASS="loopback"\n:deny\n`;

  it("deny closes at once with nothing sent; allow sets the rule's variables; svc -h reloads and keeps the last good rules", async () => {
    const listeners = await startListeners({ echo: { IP: "127.0.0.1", PORT: "0", REVERSE: "0" } }, (dir) =>
      debianTcprules(join(dir("echo"), "rules.cdb"), RULES),
    );
    const port = await listeners.port("echo");
    const allowed = await session(connectTcp(port, "127.0.0.1", "127.0.0.2"));
    expect(allowed.env.CLASS).toBe("loopback");
    expect(await untilClosed(connectTcp(port, "127.0.0.1", "127.0.0.3"))).toBe("");
    await waitFor(() => /tcpserver: end 2 status 25600/.test(listeners.log("echo")), 5000, "deny end line");
    await listeners.logShows("echo", /tcpserver: deny 2 :127\.0\.0\.1:\d+ :127\.0\.0\.3::\d+/);

    // The rules are read at start and on svc -h, not per connection.
    const cdb = join(listeners.serviceDir("echo"), "rules.cdb");
    debianTcprules(cdb, `127.0.0.2:deny\n:allow,CLASS="any"\n`);
    expect((await session(connectTcp(port, "127.0.0.1", "127.0.0.2"))).env.CLASS).toBe("loopback");
    listeners.runtime.svc("h", ["echo"]);
    await waitFor(() => listeners.log("echo").includes("tcpserver: reloaded service/echo/rules.cdb"), 5000, "reload");
    expect(await untilClosed(connectTcp(port, "127.0.0.1", "127.0.0.2"))).toBe("");
    expect((await session(connectTcp(port, "127.0.0.1", "127.0.0.3"))).env.CLASS).toBe("any");

    writeFileSync(cdb, "not a cdb");
    listeners.runtime.svc("h", ["echo"]);
    await waitFor(() => /warning: service\/echo\/rules.cdb: cdb too short.*keeping the rules in force/.test(listeners.log("echo")), 5000, "failed reload");
    expect(await untilClosed(connectTcp(port, "127.0.0.1", "127.0.0.2"))).toBe("");
    expect((await session(connectTcp(port, "127.0.0.1", "127.0.0.3"))).env.CLASS).toBe("any");
  });

  it("a malformed setting or a missing RULES file keeps the service from starting, naming the file", async () => {
    const made = makeRoot([]);
    try {
      addEchoListener(made.root, "bad", { PORT: "0", CONCURRENCY: "x" });
      addEchoListener(made.root, "norules", { PORT: "0", RULES: "tcp.cdb" });
      const runtime = createRuntime({ root: made.root, env: BASE_ENV });
      const started = runtime.start({ readyTimeoutMs: 2500 });
      await expect(started).rejects.toThrow(/service\/bad\/env\/CONCURRENCY: not a number: "x"/);
      await expect(started).rejects.toThrow(/service\/norules\/tcp\.cdb: missing \(RULES names it\)/);
      await runtime.stop();
    } finally {
      made.cleanup();
    }
  });
});

describe("limits", () => {
  it("over CONCURRENCY the next connection gets the busy line and is closed while the others stay open", async () => {
    const listeners = await startListeners({ echo: { IP: "127.0.0.1", PORT: "0", REVERSE: "0", CONCURRENCY: "2" } });
    const port = await listeners.port("echo");
    const first = await session(connectTcp(port));
    const second = await session(connectTcp(port, "127.0.0.1", "127.0.0.2"));
    expect(await untilClosed(connectTcp(port, "127.0.0.1", "127.0.0.3"))).toBe("421 echo-listener busy (#4.3.2)\r\n");
    expect(await echo(first.socket, "one")).toBe("one\n");
    expect(await echo(second.socket, "two")).toBe("two\n");
    await listeners.logShows("echo", /tcpserver: busy 3 127\.0\.0\.3 concurrency limit 2/);
    await listeners.logShows("echo", "tcpserver: status: 2/2");

    first.socket.destroy();
    await waitFor(() => listeners.log("echo").includes("tcpserver: end 1 status 0"), 5000, "a free slot");
    const third = await session(connectTcp(port, "127.0.0.1", "127.0.0.3"));
    expect(await echo(third.socket, "three")).toBe("three\n");
  });

  it("over PERIP a client's next connection gets the busy line; other clients still get in", async () => {
    const listeners = await startListeners({ echo: { IP: "127.0.0.1", PORT: "0", REVERSE: "0", CONCURRENCY: "10", PERIP: "2" } });
    const port = await listeners.port("echo");
    const open = [await session(connectTcp(port, "127.0.0.1", "127.0.0.2")), await session(connectTcp(port, "127.0.0.1", "127.0.0.2"))];
    expect(await untilClosed(connectTcp(port, "127.0.0.1", "127.0.0.2"))).toBe("421 echo-listener busy (#4.3.2)\r\n");
    const other = await session(connectTcp(port, "127.0.0.1", "127.0.0.3"));
    for (const [i, s] of [...open, other].entries()) expect(await echo(s.socket, `line ${i}`)).toBe(`line ${i}\n`);
    await listeners.logShows("echo", /tcpserver: busy 3 127\.0\.0\.2 per-client limit 2/);
  });
});

describe("IPv6", () => {
  it("an IPv6 client gets PROTO=TCP6 and the TCP6 variables; an IPv4 client of the same dual-stack port gets PROTO=TCP", async () => {
    const listeners = await startListeners({ echo: { IP: "::", PORT: "0", REVERSE: "0", LOCALNAME: "mx.example.test" } }, (dir) =>
      writeFileSync(join(dir("echo"), "rules.cdb"), buildCdb(compileRules(Buffer.from(`::1:allow,V6="yes"\n127.0.0.1:allow,V4="yes"\n`), "rules"))),
    );
    const port = await listeners.port("echo");
    const v6 = await session(connectTcp(port, "::1"));
    expect(pick(v6.env, /^(PROTO|TCP.*|V[46])$/)).toEqual({
      PROTO: "TCP6",
      TCPLOCALIP: "::1",
      TCPLOCALPORT: String(port),
      TCPLOCALHOST: "mx.example.test",
      TCPREMOTEIP: "::1",
      TCPREMOTEPORT: String(v6.socket.localPort),
      TCP6LOCALIP: "::1",
      TCP6LOCALPORT: String(port),
      TCP6LOCALHOST: "mx.example.test",
      TCP6REMOTEIP: "::1",
      TCP6REMOTEPORT: String(v6.socket.localPort),
      V6: "yes",
    });
    const v4 = await session(connectTcp(port, "127.0.0.1"));
    expect(pick(v4.env, /^(PROTO|TCP.*|V[46])$/)).toEqual({
      PROTO: "TCP",
      TCPLOCALIP: "127.0.0.1",
      TCPLOCALPORT: String(port),
      TCPLOCALHOST: "mx.example.test",
      TCPREMOTEIP: "127.0.0.1",
      TCPREMOTEPORT: String(v4.socket.localPort),
      V4: "yes",
    });
    await listeners.logShows("echo", /tcpserver: ok 1 mx\.example\.test:::1:\d+ :::1::\d+/);
  });
});

describe("implicit TLS", () => {
  let keys: string | undefined;
  afterEach(() => {
    if (keys !== undefined) rmSync(keys, { recursive: true, force: true });
    keys = undefined;
  });

  function makeCertificate(dir: string, name: string): void {
    const made = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", `/CN=${name}`, "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")]);
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr.toString()}`);
  }

  const connectTls = (port: number, localAddress?: string): TLSSocket =>
    tlsConnect({ port, host: "127.0.0.1", servername: "mx.example.test", rejectUnauthorized: false, ...(localAddress === undefined ? {} : { localAddress }) });

  it("the handler gets a TLS session with the TLS variables; svc -h takes a new certificate; over the limit the client gets no plaintext line", async () => {
    keys = mkdtempSync(join(tmpdir(), "tsqmail-tls-"));
    makeCertificate(keys, "first.example.test");
    const listeners = await startListeners({
      smtps: { IP: "127.0.0.1", PORT: "0", REVERSE: "0", CONCURRENCY: "1", TLSKEY: join(keys, "key.pem"), TLSCERT: join(keys, "cert.pem") },
    });
    const port = await listeners.port("smtps");
    const first = await session(connectTls(port));
    expect(first.socket.getPeerCertificate().subject.CN).toBe("first.example.test");
    expect(pick(first.env, CONNECTION_NAMES)).toEqual({
      PROTO: "TCP",
      TCPLOCALIP: "127.0.0.1",
      TCPLOCALPORT: String(port),
      TCPREMOTEIP: "127.0.0.1",
      TCPREMOTEPORT: String(first.socket.localPort),
      SSL_PROTOCOL: first.socket.getProtocol(),
      SSL_CIPHER: first.socket.getCipher().name,
      SSL_TLS_SNI: "mx.example.test",
    });
    expect(first.env.SSL_PROTOCOL).toBe("TLSv1.3");
    expect(await echo(first.socket, "over tls")).toBe("over tls\n");

    // CONCURRENCY=1: a second client is closed before any TLS, with nothing written to it.
    const busy = connectTls(port, "127.0.0.2");
    let handshaken = false;
    busy.on("secureConnect", () => (handshaken = true));
    expect(await untilClosed(busy)).toBe("");
    expect(handshaken).toBe(false);
    await listeners.logShows("smtps", /sslserver: busy 2 127\.0\.0\.2 concurrency limit 1/);

    makeCertificate(keys, "second.example.test");
    listeners.runtime.svc("h", ["smtps"]);
    await waitFor(() => listeners.log("smtps").includes("sslserver: reloaded"), 5000, "reload");
    first.socket.destroy();
    await waitFor(() => listeners.log("smtps").includes("sslserver: end 1 status 0"), 5000, "slot free");
    const second = await session(connectTls(port));
    expect(second.socket.getPeerCertificate().subject.CN).toBe("second.example.test");
    second.socket.destroy();
  });

  it("a client that speaks plaintext to the TLS port fails the handshake and is logged", async () => {
    keys = mkdtempSync(join(tmpdir(), "tsqmail-tls-"));
    makeCertificate(keys, "mx.example.test");
    const listeners = await startListeners({
      smtps: { IP: "127.0.0.1", PORT: "0", REVERSE: "0", TLSKEY: join(keys, "key.pem"), TLSCERT: join(keys, "cert.pem") },
    });
    const plain = connectTcp(await listeners.port("smtps"));
    plain.write("EHLO client.example\r\n");
    expect(await untilClosed(plain)).not.toMatch(/PROTO=/);
    await waitFor(() => /sslserver: end 1 status 256/.test(listeners.log("smtps")), 5000, "failed end line");
    await listeners.logShows("smtps", /sslserver: warning: connection 1 failed: .*(wrong version|http request|packet length|unknown protocol)/i);
  });
});

describe("reverse lookup", () => {
  const servers: LoopbackDns[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  it("TCPREMOTEHOST is the client's PTR name, lower-cased, and host rules match it; an unanswered lookup gives up after REVERSETIMEOUT", async () => {
    const named = await startLoopbackDns({ "2.0.0.127.in-addr.arpa": "Client.Example.TEST" });
    const silent = await startLoopbackDns("silent");
    servers.push(named, silent);
    const rules = `=client.example.test:allow,NAMED="yes"\n=:allow,NAMED="other"\n:allow,NAMED="no"\n`;
    const listeners = await startListeners(
      {
        named: { IP: "127.0.0.1", PORT: "0", DNSSERVERS: named.server },
        silent: { IP: "127.0.0.1", PORT: "0", DNSSERVERS: silent.server, REVERSETIMEOUT: "1" },
      },
      (dir) => {
        debianTcprules(join(dir("named"), "rules.cdb"), rules);
        debianTcprules(join(dir("silent"), "rules.cdb"), rules);
      },
    );

    const known = await session(connectTcp(await listeners.port("named"), "127.0.0.1", "127.0.0.2"));
    expect(known.env.TCPREMOTEHOST).toBe("client.example.test");
    expect(known.env.NAMED).toBe("yes");
    const unknown = await session(connectTcp(await listeners.port("named"), "127.0.0.1", "127.0.0.3"));
    expect(unknown.env.TCPREMOTEHOST).toBeUndefined();
    expect(unknown.env.NAMED).toBe("no");
    expect(named.queries()).toBeGreaterThanOrEqual(2);

    const started = Date.now();
    const waited = await session(connectTcp(await listeners.port("silent"), "127.0.0.1", "127.0.0.2"));
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(3000);
    expect(silent.queries()).toBeGreaterThanOrEqual(1);
    expect(waited.env.TCPREMOTEHOST).toBeUndefined();
    expect(waited.env.NAMED).toBe("no");
    expect(await echo(waited.socket, "late but fine")).toBe("late but fine\n");
  });
});

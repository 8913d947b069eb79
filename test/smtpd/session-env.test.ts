// A session's compact environment (session-env.ts) over a service environment like a worker's
// own process.env: it reads the same as the connection's full environment, holds only what
// differs, hides what the connection removed, and flattens back to the full one for a program.

import { afterAll, describe, expect, it } from "vitest";
import { connectionEnv } from "../../src/net/connection-env.js";
import { compactEnv, flatEnv } from "../../src/services/smtpd/session-env.js";

describe("session environment", () => {
  // This thread's process.env stands in for a worker's: an exotic object, read through the runtime.
  process.env.TSQMAIL_TEST_DATABYTES = "1000";
  process.env.TCPREMOTEHOST = "stale.example";
  afterAll(() => {
    delete process.env.TSQMAIL_TEST_DATABYTES;
    delete process.env.TCPREMOTEHOST;
  });
  const serviceEnv = process.env;
  const full = connectionEnv(connectionEnv(serviceEnv), [
    ["TCPREMOTEIP", "192.0.2.7"],
    ["TSQMAIL_TEST_DATABYTES", "50"],
  ]);

  it("reads as the connection's environment and keeps only what differs", () => {
    const env = compactEnv(serviceEnv, full);
    for (const [name, value] of Object.entries(full)) expect(env[name]).toBe(value);
    expect(env.TSQMAIL_TEST_DATABYTES).toBe("50");
    expect(env.TCPREMOTEIP).toBe("192.0.2.7");
    // The stale service variable the listener dropped does not show through.
    expect(env.TCPREMOTEHOST).toBeUndefined();
    // Own: what the connection changed or added, and what it removed; nothing else.
    const changed = Object.keys(full).filter((name) => serviceEnv[name] !== full[name]);
    const removed = Object.keys(serviceEnv).filter((name) => !(name in full) && serviceEnv[name] !== undefined);
    expect(removed).toContain("TCPREMOTEHOST");
    expect(Object.keys(env).sort()).toEqual([...changed, ...removed].sort());
    expect(Object.keys(env).length).toBeLessThan(Object.keys(full).length / 2);
  });

  it("two sessions share the service's variables and keep their own apart", () => {
    const other = compactEnv(serviceEnv, connectionEnv(connectionEnv(serviceEnv), [["TCPREMOTEIP", "198.51.100.1"]]));
    const env = compactEnv(serviceEnv, full);
    expect(Object.getPrototypeOf(other)).toBe(Object.getPrototypeOf(env));
    expect(other.TCPREMOTEIP).toBe("198.51.100.1");
    expect(other.TSQMAIL_TEST_DATABYTES).toBe("1000");
    expect(env.TCPREMOTEIP).toBe("192.0.2.7");
  });

  it("flattens back to exactly the connection's variables, plus the extras", () => {
    const flat = flatEnv(compactEnv(serviceEnv, full), { AUTHUSER: "bob" });
    expect(flat).toEqual({ ...full, AUTHUSER: "bob" });
  });
});

// `tsqmail init`'s certificate: made by openssl, key and certificate in one 0600 file that
// node:tls accepts, never replaced once there.

import { X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import { describe, expect, it } from "vitest";
import { initRoot } from "../../src/root/init.js";
import { makeRoot } from "../runtime/test-root.js";

describe("init's server certificate", () => {
  it("is a self-signed certificate for control/me with its key, mode 0600, kept on a second init", async () => {
    const { root, cleanup } = makeRoot([]);
    try {
      const options = { root, domain: "example.test", listen: "127.0.0.1", basePort: 20000 };
      expect((await initRoot(options)).created).toContain("control/servercert.pem");
      const file = join(root, "control", "servercert.pem");
      const pem = readFileSync(file);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(() => createSecureContext({ key: pem, cert: pem })).not.toThrow();
      expect(new X509Certificate(pem).subject).toBe("CN=mail.example.test");
      expect((await initRoot(options)).created).not.toContain("control/servercert.pem");
      expect(readFileSync(file)).toEqual(pem);
    } finally {
      cleanup();
    }
  });
});

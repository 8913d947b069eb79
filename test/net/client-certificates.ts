// Client certificates made by the real openssl for the tests of certificate relaying (smtpd's
// UCSPITLS ? and @, qmtps with CAFILE): a CA, a client certificate it signed, and a self-signed
// impostor with the same kind of DN.

import { execFileSync } from "node:child_process";
import { join } from "node:path";

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: "ignore" });
}

/** A CA, a client certificate it signed, and a self-signed one with the same kind of DN. */
export function makeCertificates(dir: string): { ca: string; client: [string, string]; rogue: [string, string] } {
  const file = (name: string) => join(dir, name);
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "2", "-subj", "/CN=Test CA"]);
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", file("client.key"), "-out", file("client.csr"), "-subj", "/O=Branch Office/CN=relay.branch.test"]);
  openssl(["x509", "-req", "-in", file("client.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-out", file("client.pem"), "-days", "2"]);
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("rogue.key"), "-out", file("rogue.pem"), "-days", "2", "-subj", "/O=Branch Office/CN=relay.branch.test"]);
  return { ca: file("ca.pem"), client: [file("client.pem"), file("client.key")], rogue: [file("rogue.pem"), file("rogue.key")] };
}


// `tsqmail init`'s self-signed certificate, so STARTTLS and smtps work out of the box:
// control/servercert.pem holds the private key and the certificate (s/qmail's layout), mode 0600.
// Made by the openssl command (through the child-process seam) rather than an npm library: it is
// on every system that has TLS at all, and a key generator is not something to take from a small
// package. Never overwrites: an existing servercert.pem (say, a real one) wins.

import { join } from "node:path";
import { siteChild } from "../io/child.js";
import { siteFs } from "../io/fs.js";

const fs = siteFs("init");
const child = siteChild("init");

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const program = child.spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    program.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    program.once("error", reject);
    program.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${command} failed: ${stderr.trim()}`))));
  });
}

/** Creates control/servercert.pem for `name` unless it exists; true if it was made. */
export async function ensureServerCertificate(controlDir: string, name: string): Promise<boolean> {
  const target = join(controlDir, "servercert.pem");
  const key = `${target}.key-${process.pid}`;
  const cert = `${target}.cert-${process.pid}`;
  const combined = `${target}.init-${process.pid}`;
  try {
    await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "3650", "-subj", `/CN=${name}`, "-addext", `subjectAltName=DNS:${name}`]);
    const fh = await fs.open(combined, "w", 0o600);
    try {
      await fs.write(fh, Buffer.concat([await fs.readFile(key), await fs.readFile(cert)]));
      await fs.sync(fh);
    } finally {
      await fs.close(fh);
    }
    await fs.link(combined, target);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    for (const path of [key, cert, combined]) await fs.unlink(path).catch(() => {});
  }
}

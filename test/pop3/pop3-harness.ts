// Harness for the POP3 tests: a root with control/me, a self-signed certificate made by openssl,
// the virtual user alice (password and CRAM-MD5 secret `wonderland`), the real pop3d / pop3s
// services in real worker threads (createRuntime) with the worker limits `tsqmail init` gives
// them, mail put into alice's Maildir by lspawn's own maildir writer, and a raw loopback client
// that sends bytes exactly as given.

import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach } from "vitest";
import { addVirtualUser } from "../../src/config/virtual-users.js";
import { findBuiltin } from "../../src/runtime/builtin-services.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { formatWorkerLimits } from "../../src/runtime/worker-limits.js";
import { deliverMaildir } from "../../src/services/lspawn/maildir-delivery.js";
import { addService, listeningPort, logText, makeRoot, waitFor } from "../runtime/test-root.js";
import { RawClient } from "../smtpd/smtpd-harness.js";

let running: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

export interface Pop3Root {
  readonly root: string;
  readonly maildir: string;
  port(service: string): Promise<number>;
  log(service: string): string;
  /**
   * Delivers messages as lspawn does, then dates them 1 000, 999, … seconds ago, so they list in
   * this order. Returns their unique names (the UIDs) in that order: sorting the names would not
   * give it, as the microseconds in a name are not zero-padded (M93000 sorts after M103000).
   */
  deliver(...messages: string[]): Promise<string[]>;
  /** `new/…` and `cur/…` names in the maildir, sorted. */
  files(): string[];
  /** Every inspection record so far as JSON (with `{ inspect: true }`; else empty). */
  inspected(): string;
  /** svc's control letters to the runtime's services. */
  svc(letters: string, services: readonly string[]): void;
}

export async function startPop3(services: Readonly<Record<string, Readonly<Record<string, string>>>>, options: { readonly inspect?: boolean } = {}): Promise<Pop3Root> {
  const made = makeRoot([]);
  const { root } = made;
  const control = join(root, "control");
  execFileSync("mkdir", ["-p", control]);
  writeFileSync(join(control, "me"), "mx.example.test\n");
  const key = join(control, "key.pem");
  const cert = join(control, "cert.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=mx.example.test"], { stdio: "ignore" });
  writeFileSync(join(control, "servercert.pem"), Buffer.concat([readFileSync(key), readFileSync(cert)]));
  const alice = await addVirtualUser(root, "alice", { password: "wonderland", cram: true });
  for (const [name, env] of Object.entries(services)) {
    const dir = addService(root, { name, env: { IP: "127.0.0.1", PORT: "0", REVERSE: "0", AUTHFAILDELAY: "0", ...env } });
    writeFileSync(join(dir, "module"), `${name}\n`);
    const limits = findBuiltin(name)?.limits;
    if (limits !== undefined) writeFileSync(join(dir, "limits"), formatWorkerLimits(limits));
  }
  const runtime = createRuntime({ root, env: { PATH: process.env.PATH } });
  const records: string[] = [];
  if (options.inspect === true) runtime.subscribe((record) => void records.push(JSON.stringify(record)));
  running.push(async () => {
    await runtime.stop();
    made.cleanup();
  });
  await runtime.start();
  let age = 1000;
  return {
    root,
    maildir: alice.maildir,
    log: (service) => logText(root, service),
    port: (service) => listeningPort(root, service, 20_000),
    async deliver(...messages) {
      const names: string[] = [];
      for (const message of messages) {
        const before = new Set(readdirSync(join(alice.maildir, "new")));
        await deliverMaildir(alice.maildir, "", Buffer.from(message, "latin1"));
        const name = readdirSync(join(alice.maildir, "new")).find((file) => !before.has(file))!;
        const when = Date.now() / 1000 - age--;
        utimesSync(join(alice.maildir, "new", name), when, when);
        names.push(name);
      }
      return names;
    },
    inspected: () => records.join("\n"),
    svc: (letters, services) => runtime.svc(letters, services),
    files() {
      return ["new", "cur"].flatMap((sub) => readdirSync(join(alice.maildir, sub)).map((name) => `${sub}/${name}`)).sort();
    },
  };
}

/** smtpd's raw client (bytes out exactly as given, everything received kept), with POP3's waits. */
export class RawPop3 extends RawClient {
  /** Waits until the received text contains `count` matches of `pattern` (or the connection closed). */
  async until(pattern: RegExp, count = 1, timeoutMs = 15_000): Promise<string> {
    const global = new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`);
    await waitFor(() => (this.text.match(global)?.length ?? 0) >= count || this.closed, timeoutMs, `${count}× ${pattern} in ${JSON.stringify(this.text)}`);
    return this.text;
  }
  /** Sends one command and returns the text it brought, once `reply` has matched. */
  async command(line: string, reply: RegExp = /\r\n$/): Promise<string> {
    const start = this.text.length;
    this.send(`${line}\r\n`);
    await waitFor(() => reply.test(this.text.slice(start)) || this.closed, 15_000, `reply to ${line}: ${JSON.stringify(this.text.slice(start))}`);
    return this.text.slice(start);
  }
}

// tsqmail as the system under test, in the same shape as the peers: a real runtime on a fresh
// root made by `tsqmail init` (control files, queue, service dirs), smtpd on one loopback port.
// Modes: "accept" runs only smtpd, so messages stay in the queue as the SMTP session committed
// them — the same end point as Postfix with every transport deferred; "maildir" adds send and
// lspawn and delivers to the virtual user BENCH_USER's Maildir; "relay" adds
// send and rspawn and sends everything for RELAY_DOMAIN to a sink on loopback (smtproutes); "full"
// runs every service `tsqmail init` sets up, as a real installation does.
// Runs in this process (the services run in their own worker threads), with the V8 flags
// `tsqmail start` sets (src/runtime/resting-memory-flags.ts); `stop` stops the runtime
// and removes the root. With `inspector`, the runtime runs with the inspector on (its page's
// address is `inspectorUrl`), to measure what watching costs.

import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRuntime, useRestingMemoryFlags, type InspectorOptions } from "../../dist/src/index.js";
import { addVirtualUser } from "../../dist/src/config/virtual-users.js";
import { initRoot } from "../../dist/src/root/init.js";
import { BUILTIN_SERVICES } from "../../dist/src/runtime/builtin-services.js";
import { waitForGreeting } from "../lib/ports.js";

export type TsqmailMode =
  | { readonly kind: "accept" }
  | { readonly kind: "full" }
  | { readonly kind: "maildir" }
  | { readonly kind: "relay"; readonly sinkPort: number };

export interface TsqmailInstance {
  readonly port: number;
  readonly root: string;
  readonly queueDir: string;
  /** BENCH_USER's Maildir ("maildir" mode). */
  readonly maildir: string;
  /** The inspector page, when started with an inspector that serves one. */
  readonly inspectorUrl: string | undefined;
  stop(): Promise<void>;
}

/** Local in "maildir" mode; the domain "accept" queues for. */
export const BENCH_DOMAIN = "bench.test";
/** Accepted for relaying and routed to the sink in "relay" mode. */
export const RELAY_DOMAIN = "relay.test";
/** The "maildir" mode's virtual user, i.e. the recipient BENCH_USER@BENCH_DOMAIN. */
export const BENCH_USER = "bench";

/** Services each mode runs; the rest of init's service dirs are removed ("full" keeps every one). */
const SERVICES: Readonly<Record<Exclude<TsqmailMode["kind"], "full">, readonly string[]>> = {
  accept: ["smtpd"],
  maildir: ["lspawn", "send", "smtpd"],
  relay: ["rspawn", "send", "smtpd"],
};

/**
 * Makes a root for `mode` with `tsqmail init` on a fresh temp dir, smtpd on `port`; `smtpdEnv` adds
 * settings to smtpd's env/ (e.g. CONCURRENCY). Returns the root.
 */
export async function prepareRoot(port: number, mode: TsqmailMode, smtpdEnv: Readonly<Record<string, string>> = {}): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "tsqmail-bench-root-"));
  // init puts each listener on basePort + its standard port; smtpd's is 25.
  await initRoot({ root, domain: BENCH_DOMAIN, listen: "127.0.0.1", basePort: port - 25 });
  if (mode.kind !== "full") {
    const keep = new Set(SERVICES[mode.kind]);
    for (const service of BUILTIN_SERVICES) {
      if (!keep.has(service.name)) await rm(join(root, "service", service.name), { recursive: true, force: true });
    }
  }
  // No reverse lookup of the client (tcpserver -H), as the peers are configured: here the resolver
  // is unreachable, and a lookup per connection would measure its timeouts, not the server.
  for (const [name, value] of Object.entries({ REVERSE: "0", ...smtpdEnv })) await writeFile(join(root, "service", "smtpd", "env", name), `${value}\n`);
  const control = (name: string, lines: readonly string[]): Promise<void> => writeFile(join(root, "control", name), `${lines.join("\n")}\n`);
  if (mode.kind === "maildir") await addVirtualUser(root, BENCH_USER, {});
  if (mode.kind === "relay") {
    await control("rcpthosts", [BENCH_DOMAIN, `mail.${BENCH_DOMAIN}`, RELAY_DOMAIN]);
    await control("smtproutes", [`${RELAY_DOMAIN}:127.0.0.1:${mode.sinkPort}`]);
  }
  return root;
}

export async function startTsqmail(port: number, mode: TsqmailMode, inspector?: InspectorOptions): Promise<TsqmailInstance> {
  const root = await prepareRoot(port, mode);
  useRestingMemoryFlags();
  const runtime = createRuntime({ root, ...(inspector === undefined ? {} : { inspector }) });
  const stop = async (): Promise<void> => {
    await runtime.stop();
    await rm(root, { recursive: true, force: true });
  };
  try {
    await runtime.start();
    await waitForGreeting(port, 20_000, `tsqmail smtpd on port ${port}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, root, queueDir: join(root, "queue"), maildir: join(root, "home", BENCH_USER, "Maildir"), inspectorUrl: runtime.inspectorUrl(), stop };
}

/** Messages committed to the queue and not yet done with: one file each under queue/mess/. */
export async function tsqmailQueued(instance: Pick<TsqmailInstance, "queueDir">): Promise<number> {
  const mess = join(instance.queueDir, "mess");
  let count = 0;
  for (const split of await readdir(mess)) count += (await readdir(join(mess, split))).length;
  return count;
}

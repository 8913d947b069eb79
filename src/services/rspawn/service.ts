// rspawn: qmail-rspawn + qmail-remote as a service. Answers send's `deliver` messages with
// `delivered` (K, Z or D and qmail-remote's report, as qmail-rspawn combines its records), at
// most concurrencyremote deliveries at once (spawner/delivery-slots.ts). Deliveries of one
// message to one domain that arrive together are one batch (batcher.ts): one remote-delivery
// actor (rspawn/dlv/<first delivery>) finds the hosts, connects — or takes a kept connection
// (connection-pool.ts) — and holds one SMTP transaction for all of them; each delivery is
// answered with its own result. An actor that fails answers Z, so send retries on schedule.
// Reads: control/smtproutes (routes, `!@`, `|user|pass`, port 465 = SMTPS), tlsdestinations,
// outgoingip, helohost (default me), timeoutconnect, timeoutremote (svc -h re-reads them all),
// concurrencyremote (restart to change); DNS; the queue's mess files; queue/lock/tcpto.
// Writes: the network (SMTP to port 25 or the route's port); queue/lock/tcpto (tcpto.ts).
// Env (the service's envdir): DNSSERVERS DNS servers to ask instead of the system's (`ip`,
// `ip:port`, `[ipv6]:port`, separated by spaces); DNSTIMEOUT seconds a lookup may take (default
// 30); PORT the port for destinations whose route names none (default 25: tests use another);
// TLS 0 to never use STARTTLS (default 1: used when the server offers it; tlsdestinations still
// requires it); IDLETIMEOUT seconds a kept connection may wait for the next transaction
// (default 5; 0 keeps none).

import { readFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { fromPromise } from "xstate";
import type { StartService } from "../../../supervisors/service-module.js";
import { clock } from "../../../supervisors/clock.js";
import {
  remoteDeliveryMachine,
  type Connected,
  type Destination,
  type HostsResult,
  type RemoteDeliveryResults,
  type Reply,
  type SessionFacts,
  type TlsPolicy,
} from "../../../machines/remote-delivery.js";
import { ConfigError } from "../../config/config-error.js";
import { loadControl, type ControlValues } from "../../config/load-control.js";
import { createDns } from "../../io/dns.js";
import { siteFs } from "../../io/fs.js";
import { isServiceMessage, type DeliverMessage } from "../../messages.js";
import { queueLayout } from "../../queue/queue-layout.js";
import { rootPaths } from "../../root/paths.js";
import { deliverySlots, type DeliveryResult } from "../spawner/delivery-slots.js";
import { Batcher } from "./batcher.js";
import { ConnectionPool } from "./connection-pool.js";
import { dataOnWire } from "./dot-stuff.js";
import { findHosts, literalAddress, routeFor, type FindHostsSettings } from "./find-hosts.js";
import { quoteAddress } from "./quote-address.js";
import { authenticate } from "./smtp-auth.js";
import { SmtpConnection, type ConnectionSettings, type TlsCheck } from "./smtp-connection.js";
import { Tcpto } from "./tcpto.js";
import { tlsRequirement } from "./tls-destinations.js";

const SITE = "rspawn";
/** How long the first delivery of a batch waits for the others send dispatches with it. */
const BATCH_WINDOW_MS = 10;
const BATCH_MAX = 100;

/** qmail's ipme: this host's interface addresses, and 0.0.0.0 ("this host", RFC 1122 §3.2.1.3). */
function ownAddresses(): Set<string> {
  const own = new Set(["0.0.0.0"]);
  for (const list of Object.values(networkInterfaces())) for (const entry of list ?? []) own.add(entry.address);
  return own;
}

/** Any byte above 127: the body needs 8BITMIME to be announced. */
const hasEightBit = (bytes: Uint8Array): boolean => bytes.some((byte) => byte > 0x7f);

const start: StartService = async (context) => {
  const paths = rootPaths(context.root);
  const { values } = await loadControl(context.root);
  const limit = Math.max(1, values.concurrencyremote);
  const servers = context.env.DNSSERVERS?.split(/[\s,]+/).filter((server) => server !== "");
  const dns = createDns({ site: SITE, servers: servers?.length ? servers : undefined, timeoutMs: Number(context.env.DNSTIMEOUT ?? "30") * 1000 });
  const defaultPort = Number(context.env.PORT ?? "25");
  const own = ownAddresses();
  const tlsWanted = context.env.TLS !== "0";
  const fs = siteFs(SITE);
  const pool = new ConnectionPool(Number(context.env.IDLETIMEOUT ?? "5") * 1000);
  const tcpto = new Tcpto(fs, queueLayout(paths.queue).tcpto, process.pid);
  await tcpto.clear();

  // What svc -h re-reads; an attempt keeps the settings it started with.
  const fromControl = (control: ControlValues) => ({
    helohost: control.helohost ?? "localhost",
    routes: control.smtproutes,
    tlsdestinations: control.tlsdestinations,
    find: { dns, defaultPort, isMe: (ip: string) => own.has(ip), random: Math.random } satisfies FindHostsSettings,
    connection: {
      site: SITE,
      timeoutConnectMs: control.timeoutconnect * 1000,
      timeoutRemoteMs: control.timeoutremote * 1000,
      localAddress: control.outgoingip,
    } satisfies ConnectionSettings,
  });
  let settings = fromControl(values);

  /** A connection to `destination`, counted in tcpto: a timeout or refusal against it, anything else clears it. */
  const dial = async (destination: Destination, current: typeof settings, check: TlsCheck): Promise<SmtpConnection | undefined> => {
    const now = Math.floor(clock.now() / 1000);
    if (await tcpto.skip(destination.ip, now)) return undefined;
    try {
      const connection = await SmtpConnection.open(destination, current.connection, check);
      await tcpto.note(destination.ip, false, now);
      return connection;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      await tcpto.note(destination.ip, code === "ETIMEDOUT" || code === "ECONNREFUSED", now);
      return undefined;
    }
  };

  /** One batch: the same mess file, sender and domain. */
  const deliverBatch = async (messages: readonly DeliverMessage[]): Promise<readonly DeliveryResult[]> => {
    const first = messages[0]!;
    const current = settings;
    const stored = await fs.readFile(first.messFile);
    // qmail-remote finds a partial final line only while sending; found first, no connection is wasted on it.
    const wire = dataOnWire(stored);
    if (wire === undefined) return messages.map(() => ({ status: "D", report: "SMTP cannot transfer messages with partial final lines. (#5.6.2)\n" }));

    const domain = first.recipient.slice(first.recipient.lastIndexOf("@") + 1);
    const route = routeFor(current.routes, domain, first.sender);
    const required = tlsRequirement(current.tlsdestinations, domain, paths.control);
    const tls: TlsPolicy = required !== undefined ? "required" : tlsWanted ? "opportunistic" : "off";
    // The name TLS asks the certificate for (SNI): the relay or the recipient's domain, unless a literal.
    const sniName = route?.relay ?? domain;
    const check: TlsCheck = {
      servername: literalAddress(sniName) === undefined ? sniName : undefined,
      ca: required?.caFile === undefined ? undefined : await readFile(required.caFile),
      name: required?.name ?? domain,
    };
    const sessionKey = (destination: Destination): string =>
      JSON.stringify([destination, current.helohost, current.connection.localAddress, tls, required, route?.credentials?.user ?? null, route?.credentials?.pass ?? null]);

    let connection: SmtpConnection | undefined;
    let key = "";
    const live = (): SmtpConnection => {
      if (connection === undefined) throw new Error("not connected");
      return connection;
    };
    const machine = remoteDeliveryMachine.provide({
      actors: {
        findHosts: fromPromise<HostsResult, void>(() => findHosts(current.find, route, domain)),
        connect: fromPromise<Connected, { destination: Destination; fresh: boolean }>(async ({ input }) => {
          key = sessionKey(input.destination);
          const kept = input.fresh ? undefined : pool.take(key);
          if (kept !== undefined) {
            connection = kept.connection;
            return { kind: "reused", facts: kept.facts };
          }
          connection = await dial(input.destination, current, check);
          return connection === undefined ? { kind: "failed" } : { kind: "fresh" };
        }),
        exchange: fromPromise<Reply, { line: string | undefined }>(({ input }) => live().exchange(input.line)),
        exchangeAll: fromPromise<Reply[], { lines: readonly string[] }>(({ input }) => live().exchangeAll(input.lines)),
        sendBody: fromPromise<void, void>(() => live().write(wire)),
        startTls: fromPromise<void, void>(() => live().startTls(check)),
        authenticate: fromPromise<Reply, { mechanisms: readonly string[] }>(({ input }) => authenticate(live(), route!.credentials!, input.mechanisms)),
      },
      actions: {
        quit: () => connection?.quit(),
        hangUp: () => connection?.close(),
        keep: (_, facts: SessionFacts) => {
          if (connection !== undefined) pool.put(key, connection, facts);
        },
      },
    });
    const output = await new Promise<RemoteDeliveryResults>((resolve, reject) => {
      const actor = context.actors.spawn("dlv", machine, {
        key: first.delivery,
        input: {
          sender: quoteAddress(first.sender),
          recipients: messages.map((message) => quoteAddress(message.recipient)),
          helohost: current.helohost,
          tls,
          auth: route?.credentials !== undefined,
          size: stored.length,
          eightBit: hasEightBit(stored),
        },
      });
      actor.subscribe({ complete: () => resolve(actor.getSnapshot().output!), error: reject });
    });
    return output.results;
  };

  const batcher = new Batcher(BATCH_WINDOW_MS, BATCH_MAX, deliverBatch);
  const slots = deliverySlots(context, limit, (message) => batcher.join(message), (error) => `Temporary failure in remote delivery: ${error} (#4.3.0)\n`);

  return {
    receive(from, payload) {
      if (isServiceMessage(payload) && payload.type === "deliver") slots.accept(from, payload);
    },
    async reload() {
      try {
        settings = fromControl((await loadControl(context.root)).values);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        context.log(`alert: unable to reread controls: ${error.message}`);
      }
    },
    async stop() {
      await slots.stop();
      pool.stop();
    },
  };
};

export default start;

// rspawn: qmail-rspawn + qmail-remote as a service. Answers send's `deliver` messages with
// `delivered` (K, Z or D and qmail-remote's report, as qmail-rspawn combines its records), at
// most concurrencyremote deliveries at once (spawner/delivery-slots.ts). Deliveries of one
// message to one domain that arrive together are one batch (batcher.ts): one remote-delivery
// actor (rspawn/dlv/<first delivery>) finds the hosts, connects — or takes a kept connection
// (connection-pool.ts) — and holds one SMTP transaction (or sends one QMTP package) for all of
// them; each delivery is answered with its own result. What the session will be (route,
// protocol, TLS, EHLO name, local address) is decided first from the control files
// (batch-plan.ts). An actor that fails answers Z, so send retries on schedule.
// Reads: control/smtproutes (routes, `!@`, `|user|pass`, port 465 = SMTPS), qmtproutes (the same
// syntax, asked first at each key: QMTP, port 209, 6209 = QMTPS), tlsdestinations, outgoingip,
// domainips (per sender domain: local address and EHLO name), helohost (default me),
// timeoutconnect, timeoutremote (svc -h re-reads them all), concurrencyremote (restart to
// change); DNS; the queue's mess files (message-source.ts: large ones stream, never held
// whole); queue/lock/tcpto.
// Writes: the network (SMTP to port 25, QMTP to 209, or the route's port); queue/lock/tcpto.
// Env (the service's envdir): DNSSERVERS DNS servers to ask instead of the system's (`ip`,
// `ip:port`, `[ipv6]:port`, separated by spaces); DNSTIMEOUT seconds a lookup may take (default
// 30); PORT the port for destinations whose route names none (default 25: tests use another);
// TLS 0 to never use STARTTLS (default 1: used when the server offers it; tlsdestinations still
// requires it); IDLETIMEOUT seconds a kept connection may wait for the next transaction
// (default 5; 0 keeps none).

import { networkInterfaces } from "node:os";
import type { AnyActorRef } from "xstate";
import type { StartService } from "../../../supervisors/service-module.js";
import { clock } from "../../../supervisors/clock.js";
import {
  answering,
  remoteDeliveryMachine,
  type Destination,
  type RemoteDeliveryResults,
  type SessionFacts,
} from "../../../machines/remote-delivery.js";
import { ConfigError } from "../../config/config-error.js";
import { loadControl, type ControlValues } from "../../config/load-control.js";
import { createDns } from "../../io/dns.js";
import { siteFs } from "../../io/fs.js";
import { isServiceMessage, type DeliverMessage } from "../../messages.js";
import { queueLayout } from "../../queue/queue-layout.js";
import { rootPaths } from "../../root/paths.js";
import { deliverySlots, type DeliveryResult } from "../spawner/delivery-slots.js";
import { planBatch, type BatchPlan, type PlanSettings } from "./batch-plan.js";
import { Batcher } from "./batcher.js";
import { ConnectionPool } from "./connection-pool.js";
import { openMessage, type MessageSource } from "./message-source.js";
import { findHosts, type FindHostsSettings } from "./find-hosts.js";
import { sendQmtpPackage } from "./qmtp-package.js";
import { authenticate } from "./smtp-auth.js";
import { SmtpConnection, type ConnectionSettings, type TlsCheck } from "./smtp-connection.js";
import { Tcpto } from "./tcpto.js";

const SITE = "rspawn";
/** How long the first delivery of a batch waits for the others send dispatches with it. */
const BATCH_WINDOW_MS = 20;
const BATCH_MAX = 100;

/** qmail's ipme: this host's interface addresses, and 0.0.0.0 ("this host", RFC 1122 §3.2.1.3). */
function ownAddresses(): Set<string> {
  const own = new Set(["0.0.0.0"]);
  for (const list of Object.values(networkInterfaces())) for (const entry of list ?? []) own.add(entry.address);
  return own;
}

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
  await tcpto.clear().catch((error: unknown) => context.log(`warning: unable to clear tcpto: ${(error as Error).message}`));

  // What svc -h re-reads; an attempt keeps the settings it started with.
  const fromControl = (control: ControlValues) => ({
    helohost: control.helohost ?? "localhost",
    routes: { smtp: control.smtproutes, qmtp: control.qmtproutes },
    tlsdestinations: control.tlsdestinations,
    domainips: control.domainips,
    controlDir: paths.control,
    tlsWanted,
    find: { dns, defaultPort, isMe: (ip: string) => own.has(ip), random: Math.random },
    connection: {
      site: SITE,
      timeoutConnectMs: control.timeoutconnect * 1000,
      timeoutRemoteMs: control.timeoutremote * 1000,
      localAddress: control.outgoingip,
    } satisfies ConnectionSettings,
  }) satisfies PlanSettings & { find: FindHostsSettings };
  let settings = fromControl(values);

  /** A connection to `destination`, counted in tcpto: a timeout or refusal against it, anything else clears it. */
  const dial = async (destination: Destination, connectionSettings: ConnectionSettings, check: TlsCheck): Promise<SmtpConnection | undefined> => {
    const now = Math.floor(clock.now() / 1000);
    if (await tcpto.skip(destination.ip, now)) return undefined;
    try {
      const connection = await SmtpConnection.open(destination, connectionSettings, check);
      await tcpto.note(destination.ip, false, now);
      return connection;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      await tcpto.note(destination.ip, code === "ETIMEDOUT" || code === "ECONNREFUSED", now);
      return undefined;
    }
  };

  /**
   * One batch: the same mess file, sender and domain. Recipients the server put off with 452
   * (too many in one transaction) while it took the message for others go in another
   * transaction at once — over the kept connection — for as long as each one delivers.
   */
  const deliverBatch = async (batch: readonly DeliverMessage[], round = 0): Promise<readonly DeliveryResult[]> => {
    // The actor's id: the first delivery's number, and the round after the first (ids are never reused).
    const { results, again } = await attempt(batch, round === 0 ? batch[0]!.delivery : `${batch[0]!.delivery}.${round}`);
    if (again.length === 0) return results;
    const retried = await deliverBatch(again.map((i) => batch[i]!), round + 1);
    const merged = [...results];
    again.forEach((i, n) => (merged[i] = retried[n]!));
    return merged;
  };

  // One attempt's live parts, found by its actor's id: the machine is provided once for the
  // service, as `provide` copies the whole statechart and an attempt per delivery would pay for it.
  interface Attempt {
    readonly batch: readonly DeliverMessage[];
    readonly message: MessageSource;
    readonly plan: BatchPlan;
    readonly find: FindHostsSettings;
    connection: SmtpConnection | undefined;
    sessionKey: string;
  }
  const attempts = new Map<string, Attempt>();
  const of = (actor: AnyActorRef | undefined): Attempt => {
    const found = actor === undefined ? undefined : attempts.get(actor.id);
    if (found === undefined) throw new Error(`no attempt for actor ${actor?.id ?? "?"}`);
    return found;
  };
  const live = (attempt: Attempt): SmtpConnection => {
    if (attempt.connection === undefined) throw new Error("not connected");
    return attempt.connection;
  };
  const machine = remoteDeliveryMachine.provide({
    actions: {
      findHosts: answering(async (_, self) => {
        const { find, plan } = of(self);
        return { type: "HOSTS_FOUND", output: await findHosts(find, plan.route, plan.domain) };
      }),
      connect: answering(async (request: { destination: Destination; fresh: boolean }, self) => {
        const attempt = of(self);
        attempt.sessionKey = attempt.plan.sessionKey(request.destination);
        const kept = request.fresh ? undefined : pool.take(attempt.sessionKey);
        if (kept !== undefined) {
          attempt.connection = kept.connection;
          return { type: "CONNECTED", output: { kind: "reused", facts: kept.facts } };
        }
        attempt.connection = await dial(request.destination, attempt.plan.connection, attempt.plan.check);
        return { type: "CONNECTED", output: attempt.connection === undefined ? { kind: "failed" } : { kind: "fresh" } };
      }),
      exchange: answering(async (request: { line: string | undefined }, self) => ({ type: "REPLY", output: await live(of(self)).exchange(request.line) })),
      exchangeAll: answering(async (request: { lines: readonly string[] }, self) => ({
        type: "REPLIES",
        output: await live(of(self)).exchangeAll(request.lines),
      })),
      sendBody: answering(async (_, self) => {
        const attempt = of(self);
        await attempt.message.send((bytes) => live(attempt).write(bytes));
        return { type: "BODY_SENT" };
      }),
      startTls: answering(async (_, self) => {
        const attempt = of(self);
        await live(attempt).startTls(attempt.plan.check);
        return { type: "TLS_STARTED" };
      }),
      authenticate: answering(async (request: { mechanisms: readonly string[] }, self) => {
        const attempt = of(self);
        return { type: "REPLY", output: await authenticate(live(attempt), attempt.plan.route!.credentials!, request.mechanisms) };
      }),
      qmtpSend: answering(async (_, self) => {
        const attempt = of(self);
        const recipients = attempt.batch.map((delivery) => delivery.recipient);
        await sendQmtpPackage((bytes) => live(attempt).write(bytes), attempt.message, attempt.batch[0]!.sender, recipients);
        return { type: "QMTP_SENT" };
      }),
      qmtpReplies: answering(async (request: { count: number }, self) => ({ type: "QMTP_REPLIES", output: await live(of(self)).readNetstrings(request.count) })),
      quit: ({ self }) => of(self).connection?.quit(),
      hangUp: ({ self }) => of(self).connection?.close(),
      keep: ({ self }, facts: SessionFacts) => {
        const attempt = of(self);
        if (attempt.connection !== undefined) pool.put(attempt.sessionKey, attempt.connection, facts);
      },
    },
  });

  /** One transaction (or QMTP package) for `batch`. */
  const attempt = async (batch: readonly DeliverMessage[], actorKey: string | number): Promise<RemoteDeliveryResults> => {
    const first = batch[0]!;
    const current = settings;
    const message = await openMessage(fs, first.messFile);
    // qmail-remote finds a partial final line only while sending; found first, no connection is wasted on it.
    if (!message.complete) return { results: batch.map(() => ({ status: "D", report: "SMTP cannot transfer messages with partial final lines. (#5.6.2)\n" })), again: [] };

    const plan = await planBatch(fs, current, first.sender, first.recipient);
    const id = `${context.actors.prefix}/dlv/${actorKey}`;
    attempts.set(id, { batch, message, plan, find: current.find, connection: undefined, sessionKey: "" });
    return new Promise<RemoteDeliveryResults>((resolve, reject) => {
      const actor = context.actors.spawn("dlv", machine, {
        key: actorKey,
        input: {
          protocol: plan.protocol,
          sender: plan.onWire(first.sender),
          recipients: batch.map((delivery) => plan.onWire(delivery.recipient)),
          helohost: plan.helohost,
          tls: plan.tls,
          auth: plan.route?.credentials !== undefined,
          size: message.size,
          eightBit: message.eightBit,
        },
      });
      actor.subscribe({ complete: () => resolve(actor.getSnapshot().output!), error: reject });
    }).finally(() => attempts.delete(id));
  };

  const batcher = new Batcher(BATCH_WINDOW_MS, BATCH_MAX, (batch) => deliverBatch(batch));
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

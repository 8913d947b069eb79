// rspawn: qmail-rspawn + qmail-remote as a service. Answers send's `deliver` messages with
// `delivered` (K, Z or D and qmail-remote's report, as qmail-rspawn combines its records),
// running at most concurrencyremote deliveries at once (spawner/delivery-slots.ts). Each
// attempt is a remote-delivery actor (rspawn/dlv/<delivery>) that finds the hosts, connects and
// holds the SMTP dialogue; an actor that fails answers Z, so send retries on schedule.
// Reads: control/smtproutes, helohost (default me), timeoutconnect and timeoutremote (svc -h
// re-reads them), concurrencyremote (restart to change); DNS; the queue's mess files.
// Writes: the network (SMTP to port 25 or the route's port).
// Env (the service's envdir): DNSSERVERS DNS servers to ask instead of the system's (`ip`,
// `ip:port`, `[ipv6]:port`, separated by spaces); DNSTIMEOUT seconds a lookup may take (default
// 30); PORT the port for destinations whose route names none (default 25: tests use another);
// TLS 0 to never use STARTTLS (default 1: used when the server offers it).

import { networkInterfaces } from "node:os";
import { fromPromise } from "xstate";
import type { StartService } from "../../../supervisors/service-module.js";
import {
  remoteDeliveryMachine,
  type Destination,
  type HostsResult,
  type RemoteDeliveryOutput,
  type Reply,
} from "../../../machines/remote-delivery.js";
import { ConfigError } from "../../config/config-error.js";
import { loadControl, type ControlValues } from "../../config/load-control.js";
import { createDns } from "../../io/dns.js";
import { siteFs } from "../../io/fs.js";
import { isServiceMessage, type DeliverMessage } from "../../messages.js";
import { deliverySlots } from "../spawner/delivery-slots.js";
import { dataOnWire } from "./dot-stuff.js";
import { findHosts, literalAddress, type FindHostsSettings } from "./find-hosts.js";
import { SmtpConnection, type ConnectionSettings } from "./smtp-connection.js";

const SITE = "rspawn";

/** qmail's ipme: this host's interface addresses, and 0.0.0.0 ("this host", RFC 1122 §3.2.1.3). */
function ownAddresses(): Set<string> {
  const own = new Set(["0.0.0.0"]);
  for (const list of Object.values(networkInterfaces())) for (const entry of list ?? []) own.add(entry.address);
  return own;
}

const start: StartService = async (context) => {
  const { values } = await loadControl(context.root);
  const limit = Math.max(1, values.concurrencyremote);
  const servers = context.env.DNSSERVERS?.split(/[\s,]+/).filter((server) => server !== "");
  const dns = createDns({ site: SITE, servers: servers?.length ? servers : undefined, timeoutMs: Number(context.env.DNSTIMEOUT ?? "30") * 1000 });
  const defaultPort = Number(context.env.PORT ?? "25");
  const own = ownAddresses();
  const tls = context.env.TLS !== "0";
  const fs = siteFs(SITE);

  // What svc -h re-reads; an attempt keeps the settings it started with.
  const fromControl = (control: ControlValues) => ({
    helohost: control.helohost ?? "localhost",
    find: { routes: control.smtproutes, dns, defaultPort, isMe: (ip: string) => own.has(ip), random: Math.random } satisfies FindHostsSettings,
    connection: { site: SITE, timeoutConnectMs: control.timeoutconnect * 1000, timeoutRemoteMs: control.timeoutremote * 1000 } satisfies ConnectionSettings,
  });
  let settings = fromControl(values);

  /** The machine with its side effects bound to one attempt: one connection at a time, one message. */
  const attemptMachine = (recipient: string, wire: Buffer, current: typeof settings) => {
    let connection: SmtpConnection | undefined;
    // The name TLS asks the certificate for (SNI): the recipient's domain unless it is a literal.
    const domain = recipient.slice(recipient.lastIndexOf("@") + 1);
    const servername = literalAddress(domain) === undefined ? domain : undefined;
    const live = (): SmtpConnection => {
      if (connection === undefined) throw new Error("not connected");
      return connection;
    };
    return remoteDeliveryMachine.provide({
      actors: {
        findHosts: fromPromise<HostsResult, { recipient: string }>(({ input }) => findHosts(current.find, input.recipient)),
        connect: fromPromise<boolean, Destination>(async ({ input }) => {
          connection = await SmtpConnection.open(input, current.connection);
          return connection !== undefined;
        }),
        exchange: fromPromise<Reply, { line: string | undefined }>(({ input }) => live().exchange(input.line)),
        sendBody: fromPromise<void, void>(() => live().write(wire)),
        startTls: fromPromise<void, void>(() => live().startTls(servername)),
      },
      actions: {
        quit: () => connection?.quit(),
        hangUp: () => connection?.close(),
      },
    });
  };

  const attempt = async (message: DeliverMessage): Promise<RemoteDeliveryOutput> => {
    // qmail-remote finds a partial final line only while sending; found first, no connection is wasted on it.
    const wire = dataOnWire(await fs.readFile(message.messFile));
    if (wire === undefined) return { status: "D", report: "SMTP cannot transfer messages with partial final lines. (#5.6.2)\n" };
    return new Promise((resolve, reject) => {
      const actor = context.actors.spawn("dlv", attemptMachine(message.recipient, wire, settings), {
        key: message.delivery,
        input: { sender: message.sender, recipient: message.recipient, helohost: settings.helohost, tls },
      });
      actor.subscribe({ complete: () => resolve(actor.getSnapshot().output!), error: reject });
    });
  };
  const slots = deliverySlots(context, limit, attempt, (error) => `Temporary failure in remote delivery: ${error} (#4.3.0)\n`);

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
    stop: () => slots.stop(),
  };
};

export default start;

// The netstring listener services — qmtpd (209), qmtps (6209, implicit TLS, s/qmail) and qmqpd
// (628) — are tcpserver (or sslserver) running qmail-qmtpd or qmail-qmqpd: one listener in this
// worker, one `qmtp-session` or `qmqp-session` actor per connection (id `<service>:<port>/conn/<n>`),
// whose reads, commits and replies are provided here (package-io.ts does them).
//   qmtpd, qmtps  RELAYCLIENT (from the rules) skips rcpthosts and is appended to every recipient;
//                 DATABYTES overrides control/databytes; Received `with QMTP` (`with QMTPS` in TLS).
//   qmtps         with CAFILE, asks for a client certificate: one issued by a CA in CAFILE acts
//                 as RELAYCLIENT="" (another node of ours may relay) unless the rules set it.
//   qmqpd         QMQP clients are trusted to relay, so who may connect is the whole policy: with
//                 no rules cdb (tcprules), only loopback clients are served — a deny-by-default
//                 that a forgotten rules file cannot turn into an open relay. Received `with QMQP`.
// Each session may last an hour at most, qmail's alarm(3600).
// Reads: ROOT/control/* (loadControl), control/servercert.pem and CAFILE (qmtps). Writes: the queue
// (enqueue), the service log: one line per package or request and per connection.
// svc -h re-reads the control files, the certificate and the listener's rules (the listener's
// wiring: net/listening-service.ts).

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { AnyStateMachine } from "xstate";
import { qmqpSessionMachine } from "../../../machines/qmqp-session.js";
import { answering, qmtpSessionMachine, type CommitInput } from "../../../machines/qmtp-session.js";
import { clock } from "../../../supervisors/clock.js";
import type { ServiceContext, ServiceHandlers } from "../../../supervisors/service-module.js";
import { loadControl, type ControlSnapshot } from "../../config/load-control.js";
import { rcptHostAllowed } from "../../config/rcpthosts.js";
import { siteFs } from "../../io/fs.js";
import type { Env } from "../../net/connection-env.js";
import { listenerSettings } from "../../net/listener-settings.js";
import { encodeNetstring } from "../../net/netstring.js";
import { startListeningService } from "../../net/listening-service.js";
import { wakeFor } from "../../messages.js";
import { rootPaths } from "../../root/paths.js";
import { readClientAuthorities, trustedClientDn, type ClientAuthorities } from "../smtpd/client-certificate.js";
import { ClientStream } from "../smtpd/client-stream.js";
import { receivedHeader } from "../smtpd/received-header.js";
import { PackageIo } from "./package-io.js";

export type NetstringMode = "qmtpd" | "qmtps" | "qmqpd";

/** qmail-qmtpd's and qmail-qmqpd's alarm(3600): a whole session, not one read. */
const SESSION_LIMIT_MS = 3600_000;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1)$/;

/** DATABYTES overrides control/databytes when it is a number (qmail's scan_ulong). */
function databytesOf(env: Env, control: ControlSnapshot): number {
  const text = env.DATABYTES;
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : control.values.databytes;
}

export async function startNetstringService(context: ServiceContext, mode: NetstringMode): Promise<ServiceHandlers> {
  const { root, service } = context;
  const fs = siteFs(service);
  const rules = listenerSettings(context).rules;
  const hasRules = (): Promise<boolean> => fs.stat(rules.path).then(() => true, () => false);
  let rulesPresent = await hasRules();
  const queueDir = rootPaths(root).queue;
  const protocol = mode === "qmqpd" ? "QMQP" : mode === "qmtps" ? "QMTPS" : "QMTP";

  /** What a session starts with; svc -h replaces it whole. */
  interface NetstringSettings {
    readonly control: ControlSnapshot;
    readonly clientCas: ClientAuthorities | undefined;
  }
  const caFile = mode === "qmtps" ? context.env.CAFILE : undefined;
  const load = async (): Promise<NetstringSettings> => ({ control: await loadControl(root), clientCas: await readClientAuthorities(fs, root, caFile) });

  /** RELAYCLIENT from the rules, or "" for a qmtps client whose certificate a CAFILE CA issued. */
  const relayClientOf = (socket: Socket, env: Env, clientCas: ClientAuthorities | undefined): string | undefined => {
    if (env.RELAYCLIENT !== undefined || clientCas === undefined) return env.RELAYCLIENT;
    return trustedClientDn(socket as TLSSocket, clientCas.authorities, clock.now()) === undefined ? undefined : "";
  };

  function serve(socket: Socket, env: Env, { control, clientCas }: NetstringSettings): void {
    let prefix = `${service}: conn ?`;
    if (mode === "qmqpd" && !rulesPresent && !LOOPBACK.test(env.TCPREMOTEIP ?? "")) {
      context.log(`${service}: refused ${env.TCPREMOTEIP ?? "unknown"}: no rules cdb, so only loopback clients may use QMQP`);
      return void socket.destroy();
    }
    const stream = new ClientStream(socket, SESSION_LIMIT_MS);
    const alarm = setTimeout(() => stream.destroy(), SESSION_LIMIT_MS);
    const io = new PackageIo(stream, {
      protocol: mode === "qmqpd" ? "qmqp" : "qmtp",
      queueDir,
      env,
      now: () => clock.now(),
      received: () =>
        receivedHeader(
          {
            remoteHost: env.TCPREMOTEHOST,
            remoteIp: env.TCPREMOTEIP,
            remoteInfo: env.TCPREMOTEINFO,
            helo: undefined,
            localHost: env.TCPLOCALHOST ?? env.TCPLOCALIP ?? "unknown",
            tls: mode === "qmtps",
            authenticated: false,
            protocol,
          },
          clock.now(),
        ),
      databytes: databytesOf(env, control),
      inRcpthosts: (address) => rcptHostAllowed(control, address),
      onQueued: (id) => context.send("send", wakeFor([id])),
    });
    const requests = {
      readMessage: answering(async () => ({ type: "MESSAGE_READ" as const, read: await io.readMessage() })),
      readSender: answering(async () => ({ type: "SENDER_READ" as const, read: await io.readSender() })),
      readRecipient: answering(async () => ({ type: "RECIPIENT_READ" as const, read: await io.readRecipient() })),
      commit: answering(async (envelope: CommitInput) => ({ type: "COMMITTED" as const, result: await io.commit(envelope) })),
    };
    const writeReplies = (replies: readonly string[]): void => {
      void stream.writeBytes(Buffer.concat(replies.map((text) => encodeNetstring(text))));
      context.log(`${prefix} ${env.TCPREMOTEIP ?? "unknown"}: ${replies.map((text) => text.split(" (#")[0]).join(" | ")}`);
    };
    const machine: AnyStateMachine =
      mode === "qmqpd"
        ? qmqpSessionMachine.provide({ actions: { ...requests, reply: (_, { text }) => writeReplies([text]) } })
        : qmtpSessionMachine.provide({ actions: { ...requests, reply: (_, { replies }) => writeReplies(replies) } });
    const input = mode === "qmqpd" ? undefined : { relayClient: relayClientOf(socket, env, clientCas) };
    const actor = context.actors.spawn("conn", machine, { input });
    prefix = `${service}: conn ${actor.id.slice(actor.id.lastIndexOf("/") + 1)}`;
    const finish = (ending: string): void => {
      clearTimeout(alarm);
      stream.end();
      // The end line waits for an abandoned message's files to be removed: the log then tells the whole story.
      void io.close().then(() => context.log(`${prefix} end ${ending}`));
    };
    actor.subscribe({
      complete: () => finish((actor.getSnapshot().context as { ending: string }).ending),
      // A failed actor replies nothing: QMTP and QMQP have no way to say "try later" outside a package.
      error: (error) => finish(`failed: ${error instanceof Error ? error.message : String(error)}`),
    });
  }

  const listening = await startListeningService({
    context,
    tls: mode === "qmtps" ? "implicit" : "none",
    requestClientCertificate: caFile !== undefined && caFile !== "",
    load,
    serve,
  });

  return {
    async reload() {
      await listening.reload();
      rulesPresent = await hasRules();
    },
    stop: listening.stop,
  };
}

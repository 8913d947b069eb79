// lspawn: qmail-lspawn + qmail-local as a service. Answers send's `deliver` messages with
// `delivered` (K, Z or D and qmail-local's report), running at most concurrencylocal deliveries
// at once (the rest wait in arrival order: spawner/delivery-slots.ts). Each attempt is a local-delivery actor
// (lspawn/dlv/<delivery>); an actor that fails answers Z, so send retries on schedule.
// Reads: control/concurrencylocal, control/defaultdelivery and control/maildirquotabounce at start (restart to change),
// users/cdb, users/virtual and the passwd file, home directories and .qmail files (each read again
// only when it changed: config/file-cache.ts), the queue's mess files (once per attempt:
// message-reads.ts). Writes: maildirs and mboxes, the queue (forwards). Runs: `|program` lines under
// /bin/sh. A system account's part runs in a child process with its uid/gid (prepare.ts).
// Env (the service's envdir): PROGRAM_TIMEOUT seconds a program may run (default 3600);
// PASSWD the passwd file for system accounts (default /etc/passwd).

import { clock } from "../../../supervisors/clock.js";
import type { StartService } from "../../../supervisors/service-module.js";
import {
  answering,
  localDeliveryMachine,
  type ForwardInput,
  type LineInput,
  type LineOutput,
  type LocalDeliveryInput,
  type LocalDeliveryOutput,
} from "../../../machines/local-delivery.js";
import { loadControl } from "../../config/load-control.js";
import { UsersLookup } from "../../config/users-lookup.js";
import { isServiceMessage, wakeFor, type DeliverMessage } from "../../messages.js";
import { rootPaths } from "../../root/paths.js";
import { deliverySlots } from "../spawner/delivery-slots.js";
import { DotQmailFiles } from "./dot-qmail.js";
import { forwardMessage } from "./forward-delivery.js";
import { deliverLine } from "./line-delivery.js";
import { MessageReads } from "./message-reads.js";
import { prepareDelivery, type PrepareAsAccount } from "./prepare.js";
import { runAsAccount } from "./run-as-account.js";

const start: StartService = async (context) => {
  const { values } = await loadControl(context.root);
  const limit = values.concurrencylocal;
  const timeoutMs = Number(context.env.PROGRAM_TIMEOUT ?? "3600") * 1000;
  // Quotas apply where the runtime owns the maildir (a system account could edit its own maildirsize).
  const maildirQuota = values.maildirquotabounce === 0 ? "soft" : "hard";
  const queueDir = rootPaths(context.root).queue;
  const messages = new MessageReads();
  const settings = {
    defaultDelivery: values.defaultdelivery ?? "./Maildir/",
    users: new UsersLookup(context.root, context.env.PASSWD === undefined ? {} : { passwdFile: context.env.PASSWD }),
    homes: new DotQmailFiles(),
    message: (messFile: string) => messages.get(messFile),
    ownUid: process.getuid?.() ?? 0,
    now: () => clock.now(),
  };

  // A child process per step for system accounts; it may run a program, so it gets the program's limit and a minute.
  const childLimitMs = timeoutMs + 60_000;
  const prepareAsAccount: PrepareAsAccount = (request, message) =>
    runAsAccount(request.user, { op: "prepare", request }, message, context.env, childLimitMs);
  const runLine = async ({ prepared, instruction, input }: LineInput): Promise<LineOutput> => {
    const message = await messages.get(input.messFile);
    if (!prepared.asAccount) return deliverLine({ prepared, instruction }, message, { baseEnv: context.env, timeoutMs, maildirQuota });
    return runAsAccount(prepared, { op: "line", line: { prepared, instruction }, timeoutMs }, message, context.env, childLimitMs);
  };

  const machine = localDeliveryMachine.provide({
    actions: {
      prepare: answering(async (input: LocalDeliveryInput) => ({
        type: "PREPARED",
        prepared: await prepareDelivery(settings, input, prepareAsAccount),
      })),
      deliverLine: answering(async (input: LineInput) => ({ type: "LINE_DELIVERED", output: await runLine(input) })),
      forward: answering(async (input: ForwardInput) => {
        const wake = (id: number | null): void => context.send("send", wakeFor([id]));
        const { qp } = await forwardMessage(queueDir, input, await messages.get(input.input.messFile), wake);
        return { type: "FORWARDED", qp };
      }),
    },
  });

  const attempt = (message: DeliverMessage): Promise<LocalDeliveryOutput> =>
    messages.during(
      message.messFile,
      () =>
        new Promise((resolve, reject) => {
          const actor = context.actors.spawn("dlv", machine, {
            key: message.delivery,
            input: { messFile: message.messFile, sender: message.sender, recipient: message.recipient },
          });
          actor.subscribe({ complete: () => resolve(actor.getSnapshot().output!), error: reject });
        }),
    );
  const slots = deliverySlots(context, limit, attempt, (error) => `Temporary failure in local delivery: ${error} (#4.3.0)`);

  return {
    receive(from, payload) {
      if (isServiceMessage(payload) && payload.type === "deliver") slots.accept(from, payload);
    },
    stop: () => slots.stop(),
  };
};

export default start;

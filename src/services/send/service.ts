// send: qmail-send (with qmail-clean's duties) as a service. Reads ROOT/control (locals,
// virtualdomains, percenthack, envnoathost, concurrencylocal/remote, queuelifetime, bounce*) and
// ROOT/queue; writes info/, local/, remote/, bounce/, moves corrupt messages to queue/corrupt/N/
// and removes finished messages; hands each delivery to the lspawn or rspawn service and logs
// qmail-send's lines. One queue-entry actor per message (send/msg/N), derived from the files;
// per-channel schedulers decide whose turn it is. An entry that only waits for a next try more
// than 10 s away goes dormant (its actor stops; the activation queue wakes it at the deadline),
// so memory does not grow with the queue. Woken by `wake` messages (which name the messages, so
// todo/ is not read for them), lock/trigger and a 1500 s rescan; answers `memory-query` with a
// `memory-report`, and an injector's `spares-wanted` with spare inodes (queue/spare-stock.ts).
// Signals: svc -a makes every job due now; svc -h re-reads locals and virtualdomains (keeping the
// last good ones on error); svc -t starts nothing new, lets running deliveries finish and mark
// their results (bounded), and exits — the schedule is already on disk as the channel files' mtimes.
// A message on one channel has no info/ or channel file until a pass leaves a recipient for later
// or fails one (todo-preprocess.ts): one delivered at its first try is removed with its todo/N.

import { fromCallback, type EventObject } from "xstate";
import { clock } from "../../../supervisors/clock.js";
import type { StartService } from "../../../supervisors/service-module.js";
import {
  answering,
  queueEntryMachine,
  type AwaitTurnInput,
  type EntryRef,
  type LoadedEntry,
  type QueueEntrySnapshot,
} from "../../../machines/queue-entry.js";
import { loadControl, type ControlSnapshot } from "../../config/load-control.js";
import { siteFs } from "../../io/fs.js";
import { isServiceMessage } from "../../messages.js";
import { appendBounceReport } from "../../queue/bounce-report.js";
import { createQueue } from "../../queue/create-queue.js";
import { createDirSyncer } from "../../queue/dir-sync.js";
import { cleanTodo } from "../../queue/queue-clean.js";
import { createSpareFiles } from "../../queue/spare-files.js";
import { queueLayout } from "../../queue/queue-layout.js";
import { rootPaths } from "../../root/paths.js";
import { ActivationQueue, dormantUntil } from "./activation-queue.js";
import { ChannelScheduler } from "./channel-scheduler.js";
import { deliverChannel, entryKey } from "./delivery-pass.js";
import { Dispatcher } from "./dispatch.js";
import { markDone } from "./done-marker.js";
import { memoryReport } from "./memory-report.js";
import { finishMessage, sendBounce } from "./message-end.js";
import { quarantineMessage } from "./quarantine.js";
import { loadEntry } from "./queue-files.js";
import { domainSet, stripVirtualPrefix, type RewriteControl } from "./recipient-rewrite.js";
import { listQueued, listTodo, sweepLeftovers } from "./recovery.js";
import { sendLog } from "./send-log.js";
import { readTrigger } from "./trigger-reader.js";
import { preprocessTodo, writeEntry } from "./todo-preprocess.js";

/** A spawner that has not answered in an hour is presumed gone; the delivery is retried. */
const DELIVERY_DEADLINE_MS = 3600 * 1000;
/** How long a message waits after a step failed for a reason that may pass. */
const HOLD_OFF_MS = 60 * 1000;
/** At most this many queue-entry actors are live; the rest wait in the activation queue. */
const LIVE_LIMIT = 1000;
/** svc -t waits this long for running deliveries (the supervisor kills the worker at 3 s). */
const STOP_WAIT_MS = 2500;

function rewriteControl(control: ControlSnapshot): RewriteControl {
  const { values } = control;
  return {
    envnoathost: values.envnoathost ?? "envnoathost",
    percenthack: domainSet(values.percenthack),
    locals: domainSet(values.locals),
    virtualdomains: values.virtualdomains,
  };
}

const start: StartService = async (context) => {
  const paths = rootPaths(context.root);
  const layout = queueLayout(paths.queue);
  const fs = siteFs("send");
  const dirSync = createDirSyncer(fs);
  const spares = createSpareFiles(fs, layout);
  const log = (line: string): void => context.log(line);
  const control = await loadControl(context.root);
  if (control.defaulted.has("locals") && control.defaulted.has("me")) throw new Error("alert: cannot start: unable to read locals or me");
  let rewrite = rewriteControl(control);
  const { values } = control;
  await createQueue(paths.queue);

  const limits = { local: values.concurrencylocal, remote: values.concurrencyremote };
  const schedulers = { local: new ChannelScheduler(limits.local), remote: new ChannelScheduler(limits.remote) };
  const status = (): string =>
    sendLog.status({ running: schedulers.local.running, limit: limits.local }, { running: schedulers.remote.running, limit: limits.remote });
  const dispatcher = new Dispatcher((to, payload) => context.send(to, payload), DELIVERY_DEADLINE_MS);
  const bounceControl = {
    bouncefrom: values.bouncefrom ?? "MAILER-DAEMON",
    bouncehost: values.bouncehost ?? "bouncehost",
    doublebouncehost: values.doublebouncehost ?? "doublebouncehost",
    doublebounceto: values.doublebounceto ?? "postmaster",
  };
  // todo/N's inode is kept as a spare: for the message's own files when they are written, else
  // for an injector's next intd/N (`spares-wanted`).
  const keepTodo = (id: number): Promise<void> => cleanTodo(layout.queueDir, id, spares.adopt);
  const writeDeps = { fs, dirSync, layout, spares, cleanTodo: keepTodo };
  const endDeps = { fs, dirSync, layout, spares, bounceControl, log, cleanTodo: keepTodo };
  const writeEntryNow = (id: number, entry: LoadedEntry): Promise<void> => writeEntry(writeDeps, id, entry);

  // Passes and their marking are tracked so that a stop can let them write their done markers, and
  // so is the removal of a message delivered at its first try: only that removal records it.
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    inFlight.add(work);
    void work.then(
      () => inFlight.delete(work),
      () => inFlight.delete(work),
    );
    return work;
  };

  // Messages waiting out a hold-off after trouble: svc -a retries them now too, as qmail-send's
  // ALRM makes every entry of its priority queue due, the troubled ones included.
  const heldOff = new Set<() => void>();
  const machine = queueEntryMachine.provide({
    actions: {
      preprocess: answering(async ({ id }) => ({
        type: "PREPROCESSED",
        output: await preprocessTodo({ ...writeDeps, rewrite: () => rewrite, log, now: () => clock.now() }, id),
      })),
      loadEntry: answering(async ({ id }) => ({ type: "LOADED", output: await loadEntry(fs, layout, id) })),
      deliverChannel: answering(async (pass) => {
        alarmed.delete(pass.id);
        const output = await track(deliverChannel({ layout, schedulers, dispatcher, queuelifetime: values.queuelifetime, log, status }, pass));
        return { type: "PASSED", channel: pass.channel, output };
      }),
      markDone: answering(async (marking) => {
        const addBounceBlock = (id: number, recipient: string, report: string): Promise<void> =>
          appendBounceReport(layout.queueDir, id, stripVirtualPrefix(recipient, rewrite.virtualdomains), report);
        const output = await track(markDone({ fs, dirSync, layout, spares, addBounceBlock, writeEntry: writeEntryNow }, marking));
        return { type: "MARKED", channel: marking.channel, output };
      }),
      bounce: answering(async ({ id }) => {
        await sendBounce(endDeps, id);
        return { type: "BOUNCED" };
      }),
      removeMessage: answering(async ({ id, durable }) => {
        const finishing = finishMessage(endDeps, id, durable);
        await (durable ? finishing : track(finishing));
        return { type: "REMOVED" };
      }),
      quarantine: answering(async ({ id, problem }) => {
        await quarantineMessage({ fs, dirSync, layout, log }, id, problem);
        return { type: "QUARANTINED" };
      }),
    },
    actors: {
      awaitTurn: fromCallback<EventObject, AwaitTurnInput>(({ input, sendBack }) =>
        schedulers[input.channel].awaitTurn(entryKey(input.id, input.channel), alarmed.has(input.id) ? 0 : input.at, () =>
          sendBack({ type: "TURN" }),
        ),
      ),
      holdOff: fromCallback<EventObject, EntryRef & { problem: string }>(({ input, sendBack }) => {
        log(`warning: trouble with msg ${input.id}: ${input.problem}; trying again in ${HOLD_OFF_MS / 1000} s`);
        const retry = (): void => sendBack({ type: "RETRY" });
        const cancel = clock.at(clock.now() + HOLD_OFF_MS, retry);
        heldOff.add(retry);
        return () => {
          cancel();
          heldOff.delete(retry);
        };
      }),
    },
  });

  let stopping = false;
  // Messages that were dormant when svc -a came: their first turn is now, whatever the files say.
  const alarmed = new Set<number>();
  const liveId = (id: number): string => `send/msg/${id}`;
  const activation = new ActivationQueue(
    (id) => activate(id),
    () => context.actors.size < LIVE_LIMIT,
  );

  const activate = (id: number): void => {
    if (stopping || context.actors.get(liveId(id)) !== undefined) return;
    const actor = context.actors.spawn("msg", machine, { key: id, input: { id } });
    actor.subscribe({
      next: (snapshot) => {
        const wakeAt = dormantUntil(snapshot, clock.now());
        if (wakeAt !== undefined && !alarmed.has(id)) setImmediate(() => hibernate(id, actor, wakeAt));
      },
      complete: () => activation.pump(),
      error: () => {
        activation.add(id, clock.now() + HOLD_OFF_MS);
      },
    });
  };

  // The actor is stopped only if it is still the one that asked, still waiting as it was.
  const hibernate = (id: number, actor: { getSnapshot(): QueueEntrySnapshot }, wakeAt: number): void => {
    if (stopping || context.actors.get(liveId(id)) !== actor || dormantUntil(actor.getSnapshot(), clock.now()) !== wakeAt) return;
    context.actors.stop(liveId(id));
    activation.add(id, wakeAt);
  };

  const enqueueEntry = (id: number): void => {
    if (context.actors.get(liveId(id)) === undefined) activation.add(id, 0);
  };

  // One scan at a time; wake-ups during a scan ask for one more afterwards.
  let scanning: Promise<void> | undefined;
  let scanAgain = false;
  const scanTodo = (): void => {
    if (stopping) return;
    if (scanning !== undefined) {
      scanAgain = true;
      return;
    }
    scanning = listTodo(fs, layout)
      .then((ids) => ids.forEach(enqueueEntry))
      .catch((error: unknown) => log(`warning: unable to scan todo/: ${(error as Error).message}`))
      .finally(() => {
        scanning = undefined;
        if (scanAgain) {
          scanAgain = false;
          scanTodo();
        }
      });
  };

  const trigger = await readTrigger(fs, layout.trigger, scanTodo, log);
  // The queue is read after start returns: send is ready (and the listeners that wait for it
  // start) at once, however many messages the queue holds. Injections during the scan still wake
  // it; scanTodo only adds what is not live yet. A queue that cannot be read is a crash, as a
  // failed start was: the rejection ends the worker and supervise starts send again.
  const recovered = (async () => {
    await sweepLeftovers(layout.queueDir, clock.now(), log);
    const queued = await listQueued(fs, layout);
    for (const id of [...queued.todo, ...queued.preprocessed]) enqueueEntry(id);
  })();
  recovered.catch((error: unknown) => {
    log(`alert: unable to read the queue: ${(error as Error).message}`);
    throw error;
  });

  return {
    alarm() {
      schedulers.local.makeAllDue();
      schedulers.remote.makeAllDue();
      for (const id of activation.wakeAll()) alarmed.add(id);
      for (const retry of [...heldOff]) retry();
      scanTodo();
    },
    async reload() {
      try {
        rewrite = rewriteControl(await loadControl(context.root));
      } catch (error) {
        log(`alert: unable to reread controls: ${(error as Error).message}`);
      }
    },
    receive(from, payload) {
      if (!isServiceMessage(payload)) return;
      switch (payload.type) {
        case "wake":
          if (payload.ids === undefined) scanTodo();
          else payload.ids.forEach(enqueueEntry);
          return;
        case "spares-wanted":
          context.send(from, { type: "spares", paths: spares.handOut(payload.count) });
          return;
        case "delivered":
          dispatcher.delivered(payload);
          return;
        case "undeliverable":
          dispatcher.undeliverable(payload);
          return;
        case "memory-query":
          context.send(from, memoryReport(context.actors.size, [schedulers.local, schedulers.remote, activation]));
          return;
        default:
          return;
      }
    },
    async stop() {
      stopping = true;
      await recovered.catch(() => undefined);
      activation.stop();
      await trigger.close();
      const deadline = new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref());
      const settled = (async () => {
        await Promise.all([schedulers.local.stop(), schedulers.remote.stop()]);
        // A pass's marking starts just after its deliveries end: look again after each settles.
        while (inFlight.size > 0) {
          await Promise.allSettled([...inFlight]);
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      await Promise.race([settled, deadline]);
      log(sendLog.exiting());
    },
  };
};

export default start;

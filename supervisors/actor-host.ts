// Actor host: where a service's XState actors live. Every actor is created here with a stable id
// (`<prefix>/<kind>/<key>`), so the inspection bus can follow it and its children. Inspection is
// free while nobody watches: an actor is hooked only while `inspecting` is on, and turning it on
// later announces the live actors, with their present state, before their next transitions.
// Snapshots carry an actor's whole context only now and then, and otherwise the keys that
// changed (context-delta.ts).
// A failing actor is contained: an error in one actor stops that actor, is reported to the
// service through `onFailure`, and leaves its siblings untouched. Persisted snapshots are packed
// with msgpackr and can be restored into a new actor.
//
// The hook: XState hands every inspection event to its system's `_sendInspectionEvent`, which
// returns at once while the system has no observer and otherwise copies the event (to add its
// `rootId`) for each observer. With an observer that does nothing, a PING to a counting machine
// (three inspection events) cost 6.5 µs of CPU instead of 3.0 — more than making, redacting and
// packing the records then adds — so a watched system's `_sendInspectionEvent` is wrapped
// instead of observed: our handler takes the event as made, then XState's own function runs
// for any observer of its own (3.0 µs a PING, hooked and ignored). It is XState 5's internal
// API: `watch` fails loudly, and the actor-host tests with it, if an upgrade removes it.

import {
  createActor,
  type Actor,
  type AnyActorLogic,
  type AnyActorRef,
  type InspectionEvent,
  type Snapshot,
  type SnapshotFrom,
} from "xstate";
import { clock } from "./clock.js";
import { ContextDeltas } from "./context-delta.js";
import type { InspectionRecord } from "./inspection-record.js";
import { redact } from "./redact.js";
import { packSnapshot, unpackSnapshot } from "./snapshot-codec.js";

export interface ActorHostOptions {
  /** Name of the owning service, put on every inspection record. */
  readonly service: string;
  /** First part of every actor id; defaults to the service name (smtpd uses `smtpd:2525`). */
  readonly prefix?: string;
  /** Receives inspection records while `inspecting` is true. */
  readonly publish?: (record: InspectionRecord) => void;
  /** Told when an actor fails; the actor has already been stopped. */
  readonly onFailure?: (id: string, error: unknown) => void;
}

export interface SpawnOptions<L extends AnyActorLogic> {
  /** Last part of the id; a per-kind counter when absent. */
  readonly key?: string | number;
  readonly input?: unknown;
  /** A snapshot to resume from, as returned by `getPersistedSnapshot` or `unpack`. */
  readonly snapshot?: Snapshot<unknown> | SnapshotFrom<L>;
}

/** An inspection event as XState makes it, before its system adds the `rootId`. */
type SystemEvent = InspectionEvent extends infer E ? (E extends unknown ? Omit<E, "rootId"> : never) : never;

interface HookedSystem {
  _sendInspectionEvent: (event: SystemEvent) => void;
}

export class ActorHost {
  private watching = false;
  private readonly actors = new Map<string, Actor<AnyActorLogic>>();
  /** Each live actor's unhook, while inspecting. */
  private readonly watches = new Map<string, () => void>();
  private readonly counters = new Map<string, number>();
  /** Stable id of each root actor, by its session id (the `rootId` of its system's events). */
  private readonly rootIds = new Map<string, string>();
  /** What each actor's last published snapshot said of its context, while inspecting. */
  private readonly contexts = new ContextDeltas();
  /** First part of new actors' ids; a listener sets it once it knows its port (`smtpd:2525`). */
  prefix: string;

  constructor(private readonly options: ActorHostOptions) {
    this.prefix = options.prefix ?? options.service;
  }

  /** Inspection records are produced only while this is on. */
  get inspecting(): boolean {
    return this.watching;
  }

  set inspecting(on: boolean) {
    if (on === this.watching) return;
    this.watching = on;
    if (!on) {
      for (const unhook of this.watches.values()) unhook();
      this.watches.clear();
      // A watcher that comes later has seen none of the contexts: it gets them whole again.
      this.contexts.reset();
      return;
    }
    // A watcher arriving now sees the live actors as they are, then their next transitions.
    for (const [id, actor] of this.actors) {
      this.announce(actor, actor.sessionId, true);
      this.watch(id, actor);
    }
  }

  get size(): number {
    return this.actors.size;
  }

  ids(): string[] {
    return [...this.actors.keys()];
  }

  get(id: string): Actor<AnyActorLogic> | undefined {
    return this.actors.get(id);
  }

  /** Creates and starts an actor. It leaves the host when it finishes, stops or fails. */
  spawn<L extends AnyActorLogic>(kind: string, logic: L, options: SpawnOptions<L> = {}): Actor<L> {
    const id = `${this.prefix}/${kind}/${options.key ?? this.nextKey(kind)}`;
    if (this.actors.has(id)) throw new Error(`actor ${id} already exists`);
    const actor = createActor(logic, {
      id,
      input: options.input,
      snapshot: options.snapshot as Snapshot<unknown> | undefined,
    } as never) as Actor<L>;
    this.rootIds.set(actor.sessionId, id);
    this.actors.set(id, actor as unknown as Actor<AnyActorLogic>);
    if (this.watching) {
      // XState announced the actor and the children of its first state while createActor ran,
      // before an observer could be added: announce them here. Start reports the rest.
      this.announce(actor, actor.sessionId, false);
      this.watch(id, actor as unknown as Actor<AnyActorLogic>);
    }
    actor.subscribe({
      complete: () => this.forget(id, actor, "done"),
      error: (error) => {
        this.forget(id, actor, "error", error);
        this.options.onFailure?.(id, error);
      },
    });
    actor.start();
    return actor;
  }

  /** Stops one actor (its children with it). */
  stop(id: string): void {
    const actor = this.actors.get(id);
    if (actor === undefined) return;
    actor.stop();
    this.forget(id, actor, "stopped");
  }

  stopAll(): void {
    for (const id of [...this.actors.keys()]) this.stop(id);
  }

  /** The actor's persisted snapshot, packed for a file or a message. */
  persist(id: string): Uint8Array {
    const actor = this.actors.get(id);
    if (actor === undefined) throw new Error(`no actor ${id}`);
    return packSnapshot(actor.getPersistedSnapshot());
  }

  /** Re-creates an actor from a packed snapshot; its invoked children are re-run from their inputs. */
  restore<L extends AnyActorLogic>(kind: string, logic: L, key: string | number, packed: Uint8Array): Actor<L> {
    return this.spawn(kind, logic, { key, snapshot: unpackSnapshot(packed) });
  }

  private nextKey(kind: string): number {
    const next = (this.counters.get(kind) ?? 0) + 1;
    this.counters.set(kind, next);
    return next;
  }

  private forget(id: string, actor: Actor<AnyActorLogic>, status: "done" | "stopped" | "error", error?: unknown): void {
    if (this.actors.get(id) !== actor) return;
    this.actors.delete(id);
    // XState inspects the final snapshot after telling observers: keep the id and the hook
    // until it has (a new actor may take the id meanwhile: only this one's hook goes).
    const unhook = this.watches.get(id);
    queueMicrotask(() => {
      this.rootIds.delete(actor.sessionId);
      unhook?.();
      if (unhook !== undefined && this.watches.get(id) === unhook) this.watches.delete(id);
      if (!this.watching) return;
      this.publish({
        kind: "actor-end",
        at: clock.now(),
        service: this.options.service,
        id,
        status,
        ...(error === undefined ? {} : { error: error instanceof Error ? error.message : String(error) }),
      });
    });
  }

  private watch(id: string, actor: Actor<AnyActorLogic>): void {
    const system = actor.system as unknown as HookedSystem;
    const xstates = system._sendInspectionEvent;
    if (typeof xstates !== "function") throw new Error("actor host: this XState has no system._sendInspectionEvent to hook (see actor-host.ts)");
    const rootId = actor.sessionId;
    system._sendInspectionEvent = (event) => {
      this.inspect(event, rootId);
      xstates(event);
    };
    this.watches.set(id, () => (system._sendInspectionEvent = xstates));
  }

  /**
   * Publishes `ref`'s creation and its children's, as XState's `@xstate.actor` events would;
   * with `present`, also their present snapshots (for a watcher that missed how they got there).
   */
  private announce(ref: AnyActorRef, rootId: string, present: boolean): void {
    this.inspect({ type: "@xstate.actor", actorRef: ref }, rootId);
    const snapshot = ref.getSnapshot() as Snapshot<unknown> & { children?: Record<string, AnyActorRef | undefined> };
    if (present) this.inspect({ type: "@xstate.snapshot", actorRef: ref, snapshot, event: { type: "" } }, rootId);
    for (const child of Object.values(snapshot.children ?? {})) if (child !== undefined) this.announce(child, rootId, present);
  }

  private publish(record: InspectionRecord): void {
    this.options.publish?.(record);
  }

  // Stable ids for children: `<root id>/<child id>`.
  private stableId(ref: { sessionId: string; id?: string }, rootId: string): string {
    const root = this.rootIds.get(rootId) ?? rootId;
    return ref.sessionId === rootId ? root : `${root}/${ref.id ?? ref.sessionId}`;
  }

  // XState also reports every microstep and every action it executes: those are not published,
  // and leave at once, before any time, id or record is made for them.
  private inspect(event: SystemEvent, rootId: string): void {
    const service = this.options.service;
    switch (event.type) {
      case "@xstate.actor": {
        const machine = (event.actorRef as { logic?: { id?: string } }).logic?.id;
        const parent = event.actorRef.sessionId === rootId ? undefined : this.rootIds.get(rootId);
        this.publish({
          kind: "actor",
          at: clock.now(),
          service,
          id: this.stableId(event.actorRef, rootId),
          ...(parent !== undefined ? { parent } : {}),
          ...(machine !== undefined ? { machine } : {}),
        });
        return;
      }
      case "@xstate.event": {
        const source = event.sourceRef === undefined ? undefined : this.stableId(event.sourceRef, rootId);
        const id = this.stableId(event.actorRef, rootId);
        this.publish({ kind: "event", at: clock.now(), service, id, event: redact(event.event), ...(source !== undefined ? { source } : {}) });
        return;
      }
      case "@xstate.snapshot": {
        const snapshot = event.snapshot as { value?: unknown; status: string; context?: unknown };
        // A snapshot without a state value (a promise's or callback's) says only its status,
        // which is already told: its start by its `actor` record, its end by the event its
        // parent gets (`xstate.done.actor…`) or by its root's end. Unsent, they were a quarter
        // of an SMTP session's records.
        if (snapshot.value === undefined) return;
        this.publish({
          kind: "snapshot",
          at: clock.now(),
          service,
          id: this.stableId(event.actorRef, rootId),
          // A state value is made of state names only: nothing to hide, and a name like `auth`
          // must reach the viewer intact so it can highlight the active state.
          value: snapshot.value,
          status: snapshot.status,
          ...this.contexts.fields(event.actorRef, snapshot.context),
        });
        return;
      }
      default:
        return;
    }
  }
}

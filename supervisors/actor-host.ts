// Actor host: where a service's XState actors live. Every actor is created here with a stable id
// (`<prefix>/<kind>/<key>`) and the inspect hook, so the inspection bus can follow it and its
// children. A failing actor is contained: an error in one actor stops that actor, is reported to
// the service through `onFailure`, and leaves its siblings untouched. Persisted snapshots are
// packed with msgpackr and can be restored into a new actor.

import {
  createActor,
  type Actor,
  type AnyActorLogic,
  type InspectionEvent,
  type Snapshot,
  type SnapshotFrom,
} from "xstate";
import { clock } from "./clock.js";
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

export class ActorHost {
  /** Inspection records are produced only while this is on: the hook is nearly free when off. */
  inspecting = false;

  private readonly actors = new Map<string, Actor<AnyActorLogic>>();
  private readonly counters = new Map<string, number>();
  private readonly rootIds = new Map<string, string>();
  private pendingRootId: string | undefined;
  /** First part of new actors' ids; a listener sets it once it knows its port (`smtpd:2525`). */
  prefix: string;

  constructor(private readonly options: ActorHostOptions) {
    this.prefix = options.prefix ?? options.service;
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
    this.pendingRootId = id;
    const actor = createActor(logic, {
      id,
      input: options.input,
      snapshot: options.snapshot as Snapshot<unknown> | undefined,
      inspect: (event: InspectionEvent) => this.inspect(event),
    } as never) as Actor<L>;
    this.pendingRootId = undefined;
    this.actors.set(id, actor as unknown as Actor<AnyActorLogic>);
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
    // XState inspects the final snapshot after telling observers: keep the id until it has.
    queueMicrotask(() => {
      for (const [sessionId, rootId] of this.rootIds) if (rootId === id) this.rootIds.delete(sessionId);
      if (!this.inspecting) return;
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

  private publish(record: InspectionRecord): void {
    this.options.publish?.(record);
  }

  // Stable ids for children: `<root id>/<child id>`. The root's session id is learnt from its
  // own `@xstate.actor` event, which XState emits while createActor runs.
  private stableId(event: InspectionEvent): string {
    const ref = event.actorRef as { sessionId: string; id?: string };
    if (ref.sessionId === event.rootId) {
      let id = this.rootIds.get(event.rootId);
      if (id === undefined && this.pendingRootId !== undefined) {
        id = this.pendingRootId;
        this.rootIds.set(event.rootId, id);
      }
      return id ?? event.rootId;
    }
    return `${this.rootIds.get(event.rootId) ?? event.rootId}/${ref.id ?? ref.sessionId}`;
  }

  private inspect(event: InspectionEvent): void {
    if (event.type === "@xstate.actor" && this.pendingRootId !== undefined) this.stableId(event);
    if (!this.inspecting) return;
    const base = { at: clock.now(), service: this.options.service, id: this.stableId(event) };
    switch (event.type) {
      case "@xstate.actor": {
        const machine = (event.actorRef as { logic?: { id?: string } }).logic?.id;
        const parent = event.actorRef.sessionId === event.rootId ? undefined : this.rootIds.get(event.rootId);
        this.publish({
          kind: "actor",
          ...base,
          ...(parent !== undefined ? { parent } : {}),
          ...(machine !== undefined ? { machine } : {}),
        });
        return;
      }
      case "@xstate.event": {
        const source = event.sourceRef === undefined ? undefined : this.sourceId(event.sourceRef, event.rootId);
        this.publish({ kind: "event", ...base, event: redact(event.event), ...(source !== undefined ? { source } : {}) });
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
          ...base,
          // A state value is made of state names only: nothing to hide, and a name like `auth`
          // must reach the viewer intact so it can highlight the active state.
          value: snapshot.value,
          status: snapshot.status,
          context: redact(snapshot.context),
        });
        return;
      }
      default:
        return;
    }
  }

  private sourceId(ref: { sessionId: string }, rootId: string): string | undefined {
    return this.stableId({ type: "@xstate.actor", rootId, actorRef: ref } as InspectionEvent);
  }
}

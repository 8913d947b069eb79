// The inspection stream in @statelyai/inspect's WebSocket protocol (0.7), so Stately's tools can
// watch tsqmail: a WebSocket client of their relay (`createInspectorServer` from
// `@statelyai/inspect/server`, ws://localhost:8080 by default), which passes every text frame
// on to its receivers. A frame is one JSON inspection event:
//   @xstate.actor    { name, sessionId, rootId, parentId?, definition (the machine config as a
//                      JSON string), snapshot }
//   @xstate.event    { sessionId, rootId, event, sourceId? }
//   @xstate.snapshot { sessionId, rootId, event (the one that made it), snapshot { value,
//                      status, context } }
// each with `type`, `createdAt` (milliseconds, as a string), `id: null` and `_version`. Session ids
// are tsqmail's stable actor ids; contexts and events are the bus's, so already redacted. The
// protocol wants a snapshot's whole context, and records carry mostly the keys that changed:
// each actor's context is folded (context-fold.ts) until its end (for a dead worker's actors, the
// end the bus makes), for at most MAX_FOLDED actors. Actor ends and supervisor events have no
// place in the protocol and are not sent. While the relay is unreachable the last MAX_DEFERRED
// events wait, and the exporter reconnects every RETRY_MS.

import type { AnyStateMachine } from "xstate";
import { WebSocket } from "ws";
import type { InspectionRecord } from "../../supervisors/inspection-record.js";
import { foldContext, type FoldedContext } from "./context-fold.js";
import { machineCatalog } from "./statechart.js";

export const STATELY_PROTOCOL_VERSION = "0.7.2";
const MAX_DEFERRED = 200;
const RETRY_MS = 2000;
// Far more than the actors a runtime has live; past it the oldest actor's fold is dropped, and its
// next snapshots show the keys changed since, until one carries its whole context again.
const MAX_FOLDED = 10_000;

export interface StatelyExporter {
  readonly publish: (record: InspectionRecord) => void;
  close(): Promise<void>;
}

type ActorRecord = Exclude<InspectionRecord, { kind: "supervisor" }>;

// What their serialiser does with functions in a machine config (inline actions, guards).
const definitionOf = (machine: AnyStateMachine | undefined, name: string): string =>
  JSON.stringify(machine?.config ?? { id: name }, (_key, value: unknown) => (typeof value === "function" ? { type: value.name } : value));

/** Translates records into protocol events, keeping what later events need (roots, last events). */
class Translator {
  private readonly rootOf = new Map<string, string>();
  private readonly childrenOf = new Map<string, string[]>();
  private readonly lastEvent = new Map<string, unknown>();
  private readonly contexts = new Map<string, FoldedContext>();

  constructor(private readonly machines: ReadonlyMap<string, AnyStateMachine>) {}

  translate(record: ActorRecord): Record<string, unknown> | undefined {
    const common = { createdAt: String(record.at), id: null, _version: STATELY_PROTOCOL_VERSION, sessionId: record.id };
    switch (record.kind) {
      case "actor": {
        const root = record.parent === undefined ? record.id : (this.rootOf.get(record.parent) ?? record.parent);
        this.rootOf.set(record.id, root);
        if (root !== record.id) this.childrenOf.set(root, [...(this.childrenOf.get(root) ?? []), record.id]);
        const name = record.machine ?? record.id;
        return {
          type: "@xstate.actor",
          ...common,
          name,
          rootId: root,
          ...(record.parent === undefined ? {} : { parentId: record.parent }),
          definition: definitionOf(record.machine === undefined ? undefined : this.machines.get(record.machine), name),
          snapshot: { status: "active" },
        };
      }
      case "event":
        this.lastEvent.set(record.id, record.event);
        return {
          type: "@xstate.event",
          ...common,
          rootId: this.rootOf.get(record.id) ?? record.id,
          event: record.event,
          ...(record.source === undefined ? {} : { sourceId: record.source }),
        };
      case "snapshot": {
        const folded = foldContext(this.contexts.get(record.id), record);
        // Deleted first, so the map's order is by last use and the oldest goes first.
        this.contexts.delete(record.id);
        this.contexts.set(record.id, folded);
        if (this.contexts.size > MAX_FOLDED) this.contexts.delete(this.contexts.keys().next().value!);
        return {
          type: "@xstate.snapshot",
          ...common,
          rootId: this.rootOf.get(record.id) ?? record.id,
          event: this.lastEvent.get(record.id) ?? { type: "" },
          snapshot: { value: record.value, status: record.status, context: folded.context },
        };
      }
      case "actor-end":
        // Only roots' ends are reported: their children end with them.
        for (const id of [record.id, ...(this.childrenOf.get(record.id) ?? [])]) {
          this.rootOf.delete(id);
          this.lastEvent.delete(id);
          this.contexts.delete(id);
        }
        this.childrenOf.delete(record.id);
        return undefined;
    }
  }
}

/** Connects to a Stately relay at `url` (ws:// or wss://) and sends it the stream from now on. */
export async function startStatelyExporter(url: string): Promise<StatelyExporter> {
  const parsed = new URL(url);
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") throw new Error(`the Stately inspector's address must be ws:// or wss://, not ${url}`);
  const translator = new Translator(await machineCatalog());
  const deferred: string[] = [];
  let ws: WebSocket | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;

  const connect = (): void => {
    retry = undefined;
    const socket = new WebSocket(url);
    ws = socket;
    socket.on("open", () => {
      for (const frame of deferred.splice(0)) socket.send(frame);
    });
    // The relay sends nothing this side needs; an error is followed by close.
    socket.on("error", () => {});
    socket.on("close", () => {
      if (ws === socket) ws = undefined;
      if (!closed) retry = setTimeout(connect, RETRY_MS);
    });
  };
  connect();

  return {
    publish(record) {
      if (record.kind === "supervisor") return;
      const event = translator.translate(record);
      if (event === undefined) return;
      const frame = JSON.stringify(event);
      if (ws?.readyState === WebSocket.OPEN) ws.send(frame);
      else if (deferred.push(frame) > MAX_DEFERRED) deferred.shift();
    },
    async close() {
      closed = true;
      if (retry !== undefined) clearTimeout(retry);
      const socket = ws;
      if (socket === undefined || socket.readyState === WebSocket.CLOSED) return;
      const done = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.close();
      await done;
    },
  };
}

// The inspector as a runtime option: subscribes to the inspection bus from the runtime's creation
// (so it sees every service start), keeps the journal a late page needs, writes the recording,
// sends the stream to a Stately relay, and serves the page once the runtime knows its layout.
// Subscribing keeps the workers producing actor records for as long as the runtime runs; without
// the option nothing is subscribed and the workers' inspect hooks stay off.

import { unpackRecord, type PackedRecord } from "../../supervisors/inspection-batch.js";
import { clock } from "../../supervisors/clock.js";
import type { Branch } from "../runtime/tree-layout.js";
import { FrameJournal } from "./frame-journal.js";
import { startInspectServer, type InspectorFeed, type InspectServer } from "./inspect-server.js";
import { packFrame, type PackedFrame } from "./inspector-frame.js";
import { openRecorder, type Recorder } from "./recorder.js";
import { startStatelyExporter, type StatelyExporter } from "./stately-exporter.js";

export interface InspectorOptions {
  /** Serve the page on this port (0: any free port); absent: no server. */
  readonly port?: number;
  /** Address to bind; 127.0.0.1 by default. Any other address requires a token. */
  readonly host?: string;
  /** The token off loopback; one is generated when absent. */
  readonly token?: string;
  /** Write the stream to this file. */
  readonly record?: string;
  /** Send the stream to a relay of @statelyai/inspect at this ws:// address (stately-exporter.ts). */
  readonly stately?: string;
}

export interface RuntimeInspector {
  /** Takes every record of the bus, packed. */
  readonly publish: (record: PackedRecord) => void;
  /** Once the layout is known: writes it and opens the recording, the exporter and the server. */
  open(root: string, branches: readonly Branch[]): Promise<void>;
  /** The page's address, once open with a port. */
  readonly url: string | undefined;
  close(): Promise<void>;
}

/** A feed with memory: a journal for late pages and live listeners. */
export class JournalFeed implements InspectorFeed {
  private readonly journal = new FrameJournal();
  private readonly listeners = new Set<(frame: PackedFrame) => void>();

  push(frame: PackedFrame): void {
    this.journal.add(frame);
    for (const listener of this.listeners) listener(frame);
  }

  frames(): PackedFrame[] {
    return this.journal.frames();
  }

  subscribe(listener: (frame: PackedFrame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function createRuntimeInspector(options: InspectorOptions): RuntimeInspector {
  const feed = new JournalFeed();
  let recorder: Recorder | undefined;
  let server: InspectServer | undefined;
  let exporter: StatelyExporter | undefined;
  let closing: Promise<void> | undefined;
  // The runtime opens the inspector before any service starts: the recording misses nothing.
  feed.subscribe((frame) => recorder?.write(frame));

  return {
    publish(record) {
      feed.push(record);
      // Only the exporter needs records decoded.
      exporter?.publish(unpackRecord(record));
    },
    get url() {
      return server?.url;
    },
    async open(root, branches) {
      const layout = packFrame({ kind: "layout", at: clock.now(), root, branches });
      if (options.record !== undefined) recorder = await openRecorder(options.record);
      if (options.stately !== undefined) exporter = await startStatelyExporter(options.stately);
      feed.push(layout);
      if (options.port !== undefined) {
        server = await startInspectServer(feed, {
          port: options.port,
          ...(options.host === undefined ? {} : { host: options.host }),
          ...(options.token === undefined ? {} : { token: options.token }),
        });
      }
    },
    close() {
      // Both the runtime's stop and its end close it: once is enough.
      closing ??= Promise.all([server?.close(), recorder?.close(), exporter?.close()]).then(() => {});
      return closing;
    },
  };
}

// `tsqmail inspect --follow`: a running runtime's inspection stream as text, one line a frame,
// read from its inspector's WebSocket. A filter keeps the lines that contain it.

import { WebSocket } from "ws";
import { unpackFrames, type InspectorFrame } from "./inspector-frame.js";

/** One line for a frame: time, service, what happened, to which actor. */
export function frameLine(frame: InspectorFrame): string {
  const time = new Date(frame.at).toISOString();
  switch (frame.kind) {
    case "layout":
      return `${time} layout ${frame.root} ${frame.branches.map((b) => `${b.name}[${b.services.join(",")}]`).join(" ")}`;
    case "supervisor":
      return `${time} ${frame.service} supervisor ${frame.event} ${compact(frame.detail)}`;
    case "actor":
      return `${time} ${frame.service} actor ${frame.id}${frame.machine === undefined ? "" : ` ${frame.machine}`}${frame.parent === undefined ? "" : ` parent=${frame.parent}`}`;
    case "event":
      return `${time} ${frame.service} event ${frame.id} ${compact(frame.event)}`;
    case "snapshot":
      return `${time} ${frame.service} snapshot ${frame.id} ${compact(frame.value)} ${frame.status}`;
    case "actor-end":
      return `${time} ${frame.service} end ${frame.id} ${frame.status}${frame.error === undefined ? "" : ` ${frame.error}`}`;
  }
}

function compact(value: unknown): string {
  const text = JSON.stringify(value) ?? "";
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** Prints the stream until it closes; resolves then, rejects if it cannot connect. */
export function follow(url: string, filter: string | undefined, write: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let opened = false;
    ws.on("open", () => (opened = true));
    ws.on("message", (data: Buffer) => {
      for (const frame of unpackFrames(data)) {
        const line = frameLine(frame);
        if (filter === undefined || line.includes(filter)) write(`${line}\n`);
      }
    });
    ws.on("error", (error) => (opened ? undefined : reject(error)));
    ws.on("close", () => resolve());
  });
}

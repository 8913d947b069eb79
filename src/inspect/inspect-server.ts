// The inspector's web server: one page (src/inspect/page/), msgpackr's browser build, statecharts
// as SVG, and a WebSocket (`/stream`) that sends a connecting page the journal's frames and then
// the live stream, batched every 50 ms into one msgpack array per message (the frames' packed
// bytes joined, none re-encoded) so a busy runtime costs one WebSocket send per page per batch.
//
// Access: bound to loopback by default, and then only to requests whose Host names loopback
// (a rebound DNS name cannot reach it from a web page). Bound to any other address it requires a
// token, given as `?token=` on every request; the page passes on the one in its own URL.

import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { packageFile } from "../../supervisors/project-files.js";
import { joinFrames, type PackedFrame } from "./inspector-frame.js";
import { machineSvg } from "./statechart.js";

export interface InspectorFeed {
  /** Frames that describe the present, sent to each page as it connects. */
  frames(): readonly PackedFrame[];
  /** Live frames until the returned function is called; a replay has none. */
  subscribe(listener: (frame: PackedFrame) => void): () => void;
}

export interface InspectServerOptions {
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Required off loopback; generated when absent there. */
  readonly token?: string;
}

export interface InspectServer {
  /** The page's address, with the token when one is needed. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);
const BATCH_MS = 50;
// A page that cannot keep up is dropped rather than buffered without bound.
const MAX_BUFFERED = 16 * 1024 * 1024;

// The page is plain files, not compiled: read from the package's src/ whichever build runs.
const PAGE_DIR = packageFile("src/inspect/page/");
// The page folds snapshots' context changes with context-fold.ts, compiled: from dist/ always.
const CONTEXT_FOLD = packageFile("dist/src/inspect/context-fold.js");
const MSGPACKR_BROWSER = join(dirname(createRequire(import.meta.url).resolve("msgpackr")), "index.min.js");

const STATIC: Readonly<Record<string, { file: () => string | URL; type: string }>> = {
  "/": { file: () => new URL("index.html", PAGE_DIR), type: "text/html; charset=utf-8" },
  "/inspector.js": { file: () => new URL("inspector.js", PAGE_DIR), type: "text/javascript; charset=utf-8" },
  "/inspector.css": { file: () => new URL("inspector.css", PAGE_DIR), type: "text/css; charset=utf-8" },
  "/msgpackr.js": { file: () => MSGPACKR_BROWSER, type: "text/javascript; charset=utf-8" },
  "/context-fold.js": { file: () => CONTEXT_FOLD, type: "text/javascript; charset=utf-8" },
};

/**
 * The page with the token on the links to its own scripts and style sheet: a browser asks for
 * them without the page's query, and off loopback the server answers nothing without the token.
 */
function withToken(html: string, token: string | undefined): string {
  if (token === undefined) return html;
  const query = `?token=${encodeURIComponent(token)}`;
  return html.replace(/\b(src|href)="([\w.-]+\.(?:js|css))"/g, (_, attribute: string, file: string) => `${attribute}="${file}${query}"`);
}

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith("127.");
}

export async function startInspectServer(feed: InspectorFeed, options: InspectServerOptions): Promise<InspectServer> {
  const host = options.host ?? "127.0.0.1";
  const loopback = isLoopback(host);
  const token = options.token ?? (loopback ? undefined : randomBytes(18).toString("base64url"));

  const allowed = (request: IncomingMessage, url: URL): boolean => {
    if (token !== undefined) {
      const given = Buffer.from(url.searchParams.get("token") ?? "");
      const wanted = Buffer.from(token);
      return given.length === wanted.length && timingSafeEqual(given, wanted);
    }
    const hostname = (request.headers.host ?? "").replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
    return isLoopback(hostname);
  };

  const server = createServer((request, response) => {
    void serve(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://inspector");
    if (!allowed(request, url)) {
      response.writeHead(403, { "content-type": "text/plain" }).end("forbidden\n");
      return;
    }
    const chart = /^\/chart\/([\w.-]+)\.svg$/.exec(url.pathname);
    if (chart !== null) {
      const svg = await machineSvg(chart[1]!);
      if (svg === undefined) response.writeHead(404).end();
      else response.writeHead(200, { "content-type": "image/svg+xml", "cache-control": "max-age=3600" }).end(svg);
      return;
    }
    const entry = STATIC[url.pathname];
    if (entry === undefined) {
      response.writeHead(404).end();
      return;
    }
    const body = await readFile(entry.file());
    response.writeHead(200, { "content-type": entry.type, "cache-control": "no-cache" }).end(url.pathname === "/" ? withToken(body.toString("utf8"), token) : body);
  }

  const sockets = new WebSocketServer({ noServer: true });
  server.on("upgrade", (request, socket, head) => {
    const url = new URL(request.url ?? "/", "http://inspector");
    if (url.pathname !== "/stream" || !allowed(request, url)) {
      socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => attach(ws));
  });

  const pages = new Set<WebSocket>();
  let pending: PackedFrame[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    if (pending.length === 0) return;
    const message = joinFrames(pending);
    pending = [];
    for (const ws of pages) send(ws, message);
  };
  const unsubscribe = feed.subscribe((frame) => {
    if (pages.size === 0) return;
    pending.push(frame);
    timer ??= setTimeout(flush, BATCH_MS);
  });

  function send(ws: WebSocket, message: Uint8Array): void {
    if (ws.bufferedAmount > MAX_BUFFERED) ws.close(1013, "too slow");
    else ws.send(message);
  }

  function attach(ws: WebSocket): void {
    // What is pending was journalled already: flush it to the others before this page starts.
    flush();
    send(ws, joinFrames(feed.frames()));
    pages.add(ws);
    ws.on("close", () => pages.delete(ws));
    ws.on("error", () => pages.delete(ws));
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;

  return {
    port,
    url: `http://${shown}:${port}/${token === undefined ? "" : `?token=${token}`}`,
    async close() {
      unsubscribe();
      if (timer !== undefined) clearTimeout(timer);
      for (const ws of pages) ws.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

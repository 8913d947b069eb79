// The wiring every listening service shares (src/net/listening-service.ts), in-process: each
// connection gets the settings in force when it arrived, svc -h replaces them whole or — when
// loading fails — keeps them and logs why, implicit TLS refuses to start without a certificate,
// and stop gives the service its turn to release before the listener closes.

import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ActorHost } from "../../supervisors/actor-host.js";
import type { ServiceContext } from "../../supervisors/service-module.js";
import { ConfigError } from "../../src/config/config-error.js";
import { startListeningService } from "../../src/net/listening-service.js";

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function contextFor(lines: string[]): ServiceContext {
  const root = mkdtempSync(join(tmpdir(), "listening-"));
  roots.push(root);
  return {
    service: "probe",
    root,
    settings: undefined,
    env: { IP: "127.0.0.1", PORT: "0", REVERSE: "0" },
    actors: new ActorHost({ service: "probe" }),
    log: (line) => void lines.push(line),
    send: () => {},
  };
}

/** What the service wrote to one new connection. */
function answer(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    connect(port, "127.0.0.1")
      .on("data", (chunk) => (text += chunk.toString()))
      .on("close", () => resolve(text))
      .on("error", reject);
  });
}

describe("listening service", () => {
  it("serves each connection with the settings in force, and keeps them when a reload fails", async () => {
    const lines: string[] = [];
    const context = contextFor(lines);
    let generation = 0;
    let failing = false;
    let releases = 0;
    const listening = await startListeningService({
      context,
      tls: "none",
      load: async () => {
        if (failing) throw new Error("control/me: unreadable");
        return ++generation;
      },
      serve: (socket, _env, settings) => void socket.end(String(settings)),
      release: async () => void releases++,
    });
    const port = Number(/probe: listening on port (\d+)/.exec(lines.join("\n"))?.[1]);
    expect(context.actors.prefix).toBe(`probe:${port}`);
    expect(await answer(port)).toBe("1");

    await listening.reload();
    expect(await answer(port)).toBe("2");

    failing = true;
    await listening.reload();
    expect(lines).toContain("probe: warning: control/me: unreadable; keeping the settings in force");
    expect(await answer(port)).toBe("2");

    await listening.stop();
    expect(releases).toBe(1);
  });

  it("refuses to start implicit TLS without control/servercert.pem", async () => {
    const start = startListeningService({ context: contextFor([]), tls: "implicit", load: async () => undefined, serve: () => {} });
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(/missing: probe needs a certificate/);
  });
});

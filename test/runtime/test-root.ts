// Builds throw-away tsqmail roots for runtime tests: a service directory per test service, with
// its module, env/ and an optional down file, and helpers to wait for what the runtime reports.

import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const TEST_SERVICE = fileURLToPath(new URL("../fixtures/services/test-service.ts", import.meta.url));

export interface TestServiceDir {
  readonly name: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly down?: boolean;
}

export function makeRoot(services: readonly TestServiceDir[]): { root: string; cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), "tsqmail-test-"));
  for (const service of services) addService(root, service);
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export function addService(root: string, service: TestServiceDir): string {
  const dir = join(root, "service", service.name);
  mkdirSync(join(dir, "env"), { recursive: true });
  writeFileSync(join(dir, "module"), `${TEST_SERVICE}\n`);
  for (const [name, value] of Object.entries(service.env ?? {})) writeFileSync(join(dir, "env", name), `${value}\n`);
  if (service.down === true) writeFileSync(join(dir, "down"), "");
  return dir;
}

export function logText(root: string, name: string): string {
  const file = join(root, "log", name, "current");
  return existsSync(file) ? readFileSync(file, "utf8") : "";
}

export async function waitFor(check: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The port a listening service of `root` bound, from its "listening on port N" log line. */
export async function listeningPort(root: string, service: string, timeoutMs = 20_000): Promise<number> {
  let port = Number.NaN;
  await waitFor(() => !Number.isNaN((port = Number(new RegExp(`${service}: listening on port (\\d+)`).exec(logText(root, service))?.[1] ?? Number.NaN))), timeoutMs, `${service}'s port`);
  return port;
}

/** A port on 127.0.0.1 that was free a moment ago and that nothing listens on now. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

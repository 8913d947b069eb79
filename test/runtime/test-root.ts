// Builds throw-away tsqmail roots for runtime tests: a service directory per test service, with
// its module, env/ and an optional down file, and helpers to wait for what the runtime reports.

import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
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

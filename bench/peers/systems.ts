// The systems a scenario compares, started side by side on free loopback ports behind one shape:
// a name, a port, how many messages its queue still holds, the CPU it has used, and stop. tsqmail
// runs in this process, so its CPU figure also holds the bench's own small share (spawning
// smtp-source, polling the queue). tsqmail must start; a peer
// that cannot start here (not root, no apt or npm, no package) is returned in `missing` with the
// reason, so a bench still reports what it could measure.

import { ownCpuMs, treeCpuMs } from "../lib/cpu.js";
import { freePort } from "../lib/ports.js";
import { harakaQueued, startHaraka, type HarakaMode } from "./haraka.js";
import { postfixQueued, startPostfix, type PostfixMode } from "./postfix.js";
import { startTsqmail, tsqmailQueued, type TsqmailMode } from "./tsqmail.js";

export interface System {
  readonly name: "tsqmail" | "postfix" | "haraka";
  readonly port: number;
  /** Where a "maildir" mode delivers, for checking what arrived. */
  readonly maildir?: string;
  queued(): Promise<number>;
  /** CPU milliseconds the system has used so far (lib/cpu.ts). */
  cpuMs(): number;
  stop(): Promise<void>;
}

export interface SystemModes {
  readonly tsqmail: TsqmailMode;
  readonly postfix?: PostfixMode;
  readonly haraka?: HarakaMode;
}

export interface StartedSystems {
  /** tsqmail first: ratios are tsqmail / peer. */
  readonly systems: System[];
  readonly missing: Record<string, string>;
}

export async function startSystems(modes: SystemModes): Promise<StartedSystems> {
  const tsqmail = await startTsqmail(await freePort(), modes.tsqmail);
  const systems: System[] = [{ name: "tsqmail", port: tsqmail.port, maildir: tsqmail.maildir, queued: () => tsqmailQueued(tsqmail), cpuMs: ownCpuMs, stop: tsqmail.stop }];
  const missing: Record<string, string> = {};
  if (modes.postfix !== undefined) {
    try {
      const postfix = await startPostfix(await freePort(), modes.postfix);
      systems.push({ name: "postfix", port: postfix.port, maildir: postfix.maildir, queued: async () => postfixQueued(postfix), cpuMs: () => treeCpuMs(postfix.pid), stop: postfix.stop });
    } catch (error) {
      missing.postfix = (error as Error).message;
    }
  }
  if (modes.haraka !== undefined) {
    try {
      const haraka = await startHaraka(await freePort(), modes.haraka);
      systems.push({ name: "haraka", port: haraka.port, queued: async () => harakaQueued(haraka), cpuMs: () => treeCpuMs(haraka.pid), stop: haraka.stop });
    } catch (error) {
      missing.haraka = (error as Error).message;
    }
  }
  return { systems, missing };
}

export async function stopSystems(systems: readonly System[]): Promise<void> {
  for (const system of systems) await system.stop();
}

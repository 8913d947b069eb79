// Interleaved measurement of several systems on one scenario. A shared virtual machine's speed
// drifts within seconds, so the systems take turns: each round runs one slice per system, the
// order rotating between rounds, and a ratio is the median of the per-round ratios (neighbouring
// slices see nearly the same machine). Slices are bounded by message count, sized from a first
// calibration slice per system so each lasts about sliceSeconds whatever the system's speed.
// Before that, each system takes warmupMessages unmeasured: the figures are of systems that have
// been running a while, as a mail server does. A cold Node runtime spends its first few thousand
// messages compiling and optimising its code (CPU per message falls by a third to a half over
// them), so without a warm-up the first rounds measure V8's compiler rather than the server.

import { median } from "./stats.js";

export interface Contender {
  readonly name: string;
  /** Sends `messages` and returns messages per second. */
  slice(messages: number): Promise<number>;
  /** CPU milliseconds the system has used so far. */
  cpuMs(): number;
}

export interface RoundsPlan {
  /** Messages each system takes, unmeasured, before the calibration slice (0: none). */
  readonly warmupMessages: number;
  readonly rounds: number;
  readonly sliceSeconds: number;
  readonly calibrationMessages: number;
  readonly minMessages: number;
  readonly maxMessages: number;
}

export interface RoundsResult {
  /** Messages per slice, per system. */
  readonly messages: Record<string, number>;
  /** msg/s of every slice, per system, in round order. */
  readonly rates: Record<string, number[]>;
  readonly medians: Record<string, number>;
  /** CPU milliseconds per message of every slice, per system: work per message, whatever the load. */
  readonly cpuPerMessage: Record<string, number[]>;
  readonly cpuMedians: Record<string, number>;
  /** First contender / each other: the median of the per-round ratios. */
  readonly ratios: Record<string, number>;
  /** Every message sent, warm-up and calibration included, per system (to check against what arrived). */
  readonly sent: Record<string, number>;
}

/** A slice's failure names the system it happened to. */
async function runSlice(c: Contender, messages: number): Promise<number> {
  try {
    return await c.slice(messages);
  } catch (error) {
    throw new Error(`${c.name}: ${(error as Error).message}`);
  }
}

export async function interleavedRounds(contenders: readonly Contender[], plan: RoundsPlan): Promise<RoundsResult> {
  const messages: Record<string, number> = {};
  const rates: Record<string, number[]> = {};
  const sent: Record<string, number> = {};
  const cpuPerMessage: Record<string, number[]> = {};
  for (const c of contenders) {
    if (plan.warmupMessages > 0) await runSlice(c, plan.warmupMessages);
    const rate = await runSlice(c, plan.calibrationMessages);
    sent[c.name] = plan.warmupMessages + plan.calibrationMessages;
    messages[c.name] = Math.min(plan.maxMessages, Math.max(plan.minMessages, Math.round(rate * plan.sliceSeconds)));
    rates[c.name] = [];
    cpuPerMessage[c.name] = [];
  }
  for (let round = 0; round < plan.rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(i + round) % contenders.length]!;
      const cpuBefore = c.cpuMs();
      rates[c.name]!.push(await runSlice(c, messages[c.name]!));
      cpuPerMessage[c.name]!.push((c.cpuMs() - cpuBefore) / messages[c.name]!);
      sent[c.name]! += messages[c.name]!;
    }
  }
  const [first, ...others] = contenders;
  const ours = first === undefined ? [] : rates[first.name]!;
  return {
    messages,
    rates,
    sent,
    cpuPerMessage,
    cpuMedians: Object.fromEntries(Object.entries(cpuPerMessage).map(([name, r]) => [name, median(r)])),
    medians: Object.fromEntries(Object.entries(rates).map(([name, r]) => [name, median(r)])),
    ratios: Object.fromEntries(others.map((c) => [c.name, median(rates[c.name]!.map((peer, round) => ours[round]! / peer))])),
  };
}

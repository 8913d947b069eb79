// `tsqmail chaos --seed N --duration D [--faults LIST] [--drain D] [--max-rss MB] [--keep]`:
// a seeded chaos run on a temporary root (src/chaos/chaos-run.ts, docs/chaos.md). Prints a
// progress line every 5 s on stderr, then the report; exit 0 when every invariant held, 1 when
// one was violated. Durations are seconds, or a number with s, m or h.

import { UsageError, type Command } from "../command.js";
import { parseCommandArgs, stringOption } from "../command-args.js";
import { runChaos } from "../../chaos/chaos-run.js";
import { FAULT_KINDS, parseFaultKinds } from "../../chaos/fault-plan.js";

const UNITS: Record<string, number> = { "": 1000, s: 1000, m: 60_000, h: 3_600_000 };

function milliseconds(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)([smh]?)$/.exec(text);
  if (match === null) throw new UsageError(`--${option}: not a duration: ${text}`);
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}

export const chaos: Command = {
  name: "chaos",
  summary: "a seeded chaos run: load, injected faults, then the durability invariants",
  usage: `tsqmail chaos --seed N --duration D [--faults LIST] [--drain D] [--max-rss MB] [--keep]\n  fault kinds: ${FAULT_KINDS.join(", ")} (default all)`,
  async run(args, io) {
    const { values } = parseCommandArgs(
      args,
      { seed: { type: "string" }, duration: { type: "string" }, faults: { type: "string" }, drain: { type: "string" }, "max-rss": { type: "string" }, keep: { type: "boolean" } },
      false,
    );
    const seed = Number(stringOption(values, "seed") ?? "1");
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UsageError("--seed: an integer from 0 to 4294967295");
    const maxRss = Number(stringOption(values, "max-rss") ?? "1024");
    if (!(maxRss > 0)) throw new UsageError("--max-rss: a number of megabytes");
    let kinds;
    try {
      kinds = parseFaultKinds(stringOption(values, "faults"));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const report = await runChaos({
      seed,
      durationMs: milliseconds(stringOption(values, "duration") ?? "30", "duration"),
      drainMs: milliseconds(stringOption(values, "drain") ?? "60", "drain"),
      kinds,
      maxRssBytes: maxRss * 1048576,
      keepRoot: values.keep === true,
      progress: (line) => io.stderr.write(`chaos: ${line}\n`),
    });
    const s = report.sessions;
    const p = report.pop3.sessions;
    const faults = Object.entries(report.counts).map(([kind, n]) => `${kind} ${n}`).join(", ") || "none";
    io.stdout.write(
      [
        `chaos seed ${report.seed}, faults: ${kinds.join(",")}`,
        `sessions: ${s.accepted} accepted, ${s.deferred} deferred (4xx), ${s.dropped} dropped, ${s.refused} refused, ${s.rejected} rejected (5xx)`,
        `delivered: ${report.delivered.local} to Maildirs, ${report.delivered.remote} to the sink, ${report.delivered.bounced} bounced`,
        `duplicates: ${report.duplicates.local} in Maildirs, ${report.duplicates.remote} at the sink`,
        `pop3: ${Object.values(p).reduce((a, b) => a + b, 0)} sessions (${p.quit} clean, ${p["refused-step"]} with an -ERR, ${p.cut} cut inside a message, ${p.dropped} dropped, ${p.refused} refused); ${report.pop3.retrieved} messages retrieved, ${report.pop3.deleted} deleted`,
        `faults injected: ${faults}`,
        `peak memory: ${report.peakRssMb} MB`,
        ...report.violations.map((v) => `VIOLATION: ${v}`),
        ...(report.notes ?? []).map((note) => `note: ${note}`),
        report.violations.length === 0 ? "all invariants held" : `${report.violations.length} violation(s)`,
      ].join("\n") + "\n",
    );
    return report.violations.length === 0 ? 0 : 1;
  },
};

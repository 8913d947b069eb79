// The report's figures, read back from the benches' JSON results (lib/results.ts): one figure per
// scenario and setting, with each system's value, its unit and which way is better. The summary
// table (lib/report.ts) and the chart (lib/svg-chart.ts) are both drawn from these.

import type { BenchResults } from "./results.js";

export type Series = "tsqmail" | "postfix" | "haraka" | "ceiling";
export const SERIES: readonly Series[] = ["tsqmail", "postfix", "haraka", "ceiling"];

export interface Figure {
  /** The scenario it belongs to, e.g. "accept". */
  readonly scenario: string;
  /** The setting, e.g. "20 sessions, 2 KB". */
  readonly label: string;
  readonly unit: string;
  readonly better: "higher" | "lower";
  readonly values: Partial<Record<Series, number>>;
  /**
   * tsqmail / peer where the bench paired its measurements (lib/rounds.ts: the median of per-round
   * ratios, which may differ from the ratio of the medians); otherwise the report divides the values.
   */
  readonly ratios?: Partial<Record<Series, number>>;
  /** The limit for tsqmail's value, where it sets one in these units. */
  readonly target?: number;
}

interface RoundsSetting {
  readonly medians: Record<string, number>;
  readonly ratios: Record<string, number>;
}

// The parts of each bench's results the report reads (the benches write more).
interface AcceptResults {
  readonly settings: ReadonlyArray<RoundsSetting & { sessions: number; bytes: number }>;
}
interface EnqueueResults {
  readonly targetRatio: number;
  readonly rows: ReadonlyArray<{ concurrency: number; ceiling: number; enqueue: number; ratio: number }>;
}
interface DeliveryResults {
  readonly scenarios: ReadonlyArray<RoundsSetting & { scenario: string }>;
}
interface MemoryResults {
  readonly idle: { rssMb: number };
  readonly idleTargetMb: number;
  readonly addedTargetMb: Record<string, number>;
  readonly systems: Record<string, { added: ReadonlyArray<{ connections: number; addedPssMb: number }> } | string>;
}
interface RecoveryResults {
  readonly queued: number;
  /** For 100 000 queued messages. */
  readonly targetSeconds: number;
  readonly systems: Record<string, { medianMs: number } | string>;
}
interface SupervisionResults {
  readonly targetMs: number;
  readonly systems: Record<string, { medianMs: number } | string>;
}

const seriesValues = (values: Record<string, number | undefined>): Partial<Record<Series, number>> =>
  Object.fromEntries(SERIES.flatMap((s) => (values[s] === undefined || !Number.isFinite(values[s]) ? [] : [[s, values[s]]])));

const measured = <T>(systems: Record<string, T | string>): Record<string, T> =>
  Object.fromEntries(Object.entries(systems).filter((entry): entry is [string, T] => typeof entry[1] !== "string"));

const kb = (bytes: number): string => `${Math.round(bytes / 1024)} KB`;
const thousands = (n: number): string => n.toLocaleString("en-GB").replace(/,/g, " ");

/** The figures of one bench's results; none for a bench the report does not chart. */
export function figuresOf(record: BenchResults<unknown>): Figure[] {
  switch (record.bench) {
    case "accept":
      return (record.results as AcceptResults).settings.map((s) => ({
        scenario: "accept into the queue",
        label: `${s.sessions} session${s.sessions === 1 ? "" : "s"}, ${kb(s.bytes)}`,
        unit: "msg/s",
        better: "higher",
        values: seriesValues(s.medians),
        ratios: seriesValues(s.ratios),
      }));
    case "enqueue": {
      const { targetRatio, rows } = record.results as EnqueueResults;
      return rows.map((r) => ({
        scenario: "enqueue (qmail's commit protocol)",
        label: `${r.concurrency} writer${r.concurrency === 1 ? "" : "s"}, 2 KB`,
        unit: "msg/s",
        better: "higher",
        values: { tsqmail: r.enqueue, ceiling: r.ceiling },
        ratios: { ceiling: r.ratio },
        // The issue sets its share of the ceiling at 20 writers only.
        ...(r.concurrency === 20 ? { target: targetRatio * r.ceiling } : {}),
      }));
    }
    case "delivery":
      return (record.results as DeliveryResults).scenarios.map((s) => ({
        scenario: "delivery",
        label: s.scenario === "maildir" ? "SMTP in, Maildir out" : "SMTP in, relay to a sink",
        unit: "msg/s",
        better: "higher",
        values: seriesValues(s.medians),
        ratios: seriesValues(s.ratios),
      }));
    case "memory": {
      const { idle, idleTargetMb, addedTargetMb, systems } = record.results as MemoryResults;
      const counts = [...new Set(Object.values(measured(systems)).flatMap((s) => s.added.map((a) => a.connections)))].sort((a, b) => a - b);
      return [
        { scenario: "memory", label: "tsqmail's runtime at rest (RSS)", unit: "MB", better: "lower", values: { tsqmail: idle.rssMb }, target: idleTargetMb },
        ...counts.map(
          (n): Figure => ({
            scenario: "memory",
            label: `${thousands(n)} idle connections add (PSS)`,
            unit: "MB",
            better: "lower",
            target: addedTargetMb[n],
            values: seriesValues(Object.fromEntries(Object.entries(measured(systems)).map(([name, s]) => [name, s.added.find((a) => a.connections === n)?.addedPssMb]))),
          }),
        ),
      ];
    }
    case "recovery": {
      const { queued, targetSeconds, systems } = record.results as RecoveryResults;
      return [
        {
          scenario: "recovery",
          label: `SIGKILL to a 250, ${thousands(queued)} queued`,
          unit: "s",
          better: "lower",
          ...(queued === 100_000 ? { target: targetSeconds } : {}),
          values: seriesValues(Object.fromEntries(Object.entries(measured(systems)).map(([name, s]) => [name, s.medianMs / 1000]))),
        },
      ];
    }
    case "supervision": {
      const { targetMs, systems } = record.results as SupervisionResults;
      return [
        {
          scenario: "supervision",
          label: "SMTP service crash to a 220",
          unit: "ms",
          better: "lower",
          target: targetMs,
          values: seriesValues(Object.fromEntries(Object.entries(measured(systems)).map(([name, s]) => [name, s.medianMs]))),
        },
      ];
    }
    default:
      return [];
  }
}

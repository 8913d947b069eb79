// The report's chart as a small hand-written SVG: one panel per figure (scenario and setting), a bar
// per system on the panel's own scale from zero, the value over each bar, the unit and which way is
// better under the title, the issue's target for tsqmail as a dashed line (and under the title) where it sets one, and the
// machine and date the figures came from at the foot.

import type { Figure, Series } from "./figures.js";
import { SERIES } from "./figures.js";

const COLOURS: Record<Series, string> = { tsqmail: "#2f6fb3", postfix: "#d9822b", haraka: "#4a9a5b", ceiling: "#a0a0a0" };
const NAMES: Record<Series, string> = { tsqmail: "tsqmail", postfix: "Postfix", haraka: "Haraka", ceiling: "ceiling" };
const LEGEND: Record<Series, string> = { ...NAMES, ceiling: "the disk's ceiling for qmail's commit" };

const COLUMNS = 4;
const PANEL_W = 225;
const PANEL_H = 178;
const GAP = 14;
const MARGIN = 20;
const HEAD = 58;
const FOOT_LINE = 15;
const BAR_AREA_TOP = 54;
const BAR_AREA_BOTTOM = 26;

const escape = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function formatValue(n: number): string {
  if (n >= 100) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function text(x: number, y: number, content: string, attrs = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${attrs === "" ? "" : ` ${attrs}`}>${escape(content)}</text>`;
}

function panel(figure: Figure, x: number, y: number): string {
  const series = SERIES.filter((s) => figure.values[s] !== undefined);
  const top = Math.max(...series.map((s) => figure.values[s]!), figure.target ?? 0, Number.MIN_VALUE);
  const plotTop = y + BAR_AREA_TOP;
  const plotBottom = y + PANEL_H - BAR_AREA_BOTTOM;
  const slot = (PANEL_W - 20) / Math.max(series.length, 1);
  const barW = Math.min(38, slot * 0.6);
  const parts = [
    `<rect x="${x}" y="${y}" width="${PANEL_W}" height="${PANEL_H}" rx="6" class="panel"/>`,
    text(x + 10, y + 18, figure.scenario, 'class="scenario"'),
    text(x + 10, y + 33, figure.label, 'class="label"'),
    text(x + 10, y + 47, `${figure.unit}, ${figure.better} is better${figure.target === undefined ? "" : `; target ${figure.target}`}`, 'class="unit"'),
    `<line x1="${x + 10}" y1="${plotBottom}" x2="${x + PANEL_W - 10}" y2="${plotBottom}" class="axis"/>`,
  ];
  series.forEach((s, i) => {
    const value = figure.values[s]!;
    const height = ((plotBottom - plotTop - 14) * value) / top;
    const centre = x + 10 + slot * (i + 0.5);
    parts.push(`<rect x="${(centre - barW / 2).toFixed(1)}" y="${(plotBottom - height).toFixed(1)}" width="${barW.toFixed(1)}" height="${height.toFixed(1)}" fill="${COLOURS[s]}"/>`);
    parts.push(text(centre, plotBottom - height - 4, formatValue(value), 'class="value" text-anchor="middle"'));
    parts.push(text(centre, plotBottom + 14, NAMES[s], 'class="name" text-anchor="middle"'));
  });
  if (figure.target !== undefined) {
    // The issue's limit for tsqmail, as a dashed line across the panel, over the bars.
    const ty = plotBottom - ((plotBottom - plotTop - 14) * figure.target) / top;
    parts.push(`<line x1="${x + 10}" y1="${ty.toFixed(1)}" x2="${x + PANEL_W - 10}" y2="${ty.toFixed(1)}" class="target"/>`);
  }
  return parts.join("\n");
}

/** Breaks a footer line at spaces so none is longer than `width` characters. */
function wrap(line: string, width: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const word of line.split(" ")) {
    if (current !== "" && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current === "" ? word : `${current} ${word}`;
  }
  return [...lines, current];
}

/** The whole chart; `footer` lines (machine, date, how it was run) go under the panels. */
export function drawChart(title: string, figures: readonly Figure[], footerLines: readonly string[]): string {
  const footer = footerLines.flatMap((line) => wrap(line, 160));
  const rows = Math.ceil(figures.length / COLUMNS);
  const width = MARGIN * 2 + COLUMNS * PANEL_W + (COLUMNS - 1) * GAP;
  const height = HEAD + rows * PANEL_H + Math.max(rows - 1, 0) * GAP + 12 + footer.length * FOOT_LINE + MARGIN;
  const present = SERIES.filter((s) => figures.some((f) => f.values[s] !== undefined));
  const legend = present.map((s, i) => {
    const lx = MARGIN + i * 120;
    return `<rect x="${lx}" y="36" width="12" height="12" fill="${COLOURS[s]}"/>${text(lx + 17, 46, LEGEND[s], 'class="name"')}`;
  });
  const panels = figures.map((f, i) => panel(f, MARGIN + (i % COLUMNS) * (PANEL_W + GAP), HEAD + Math.floor(i / COLUMNS) * (PANEL_H + GAP)));
  const footTop = HEAD + rows * PANEL_H + Math.max(rows - 1, 0) * GAP + 12;
  const foot = footer.map((line, i) => text(MARGIN, footTop + (i + 1) * FOOT_LINE - 3, line, 'class="foot"'));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    "<style>",
    ".panel{fill:#f7f7f7;stroke:#dddddd}.target{stroke:#c0392b;stroke-dasharray:4 3}.axis{stroke:#888888}.title{font-size:17px;font-weight:bold;fill:#222222}",
    ".scenario{font-size:13px;font-weight:bold;fill:#222222}.label{font-size:12px;fill:#333333}.unit{font-size:11px;fill:#777777}",
    ".value{font-size:11px;fill:#222222}.name{font-size:11px;fill:#444444}.foot{font-size:11px;fill:#666666}",
    "</style>",
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    text(MARGIN, 24, title, 'class="title"'),
    ...legend,
    ...panels,
    ...foot,
    "</svg>",
    "",
  ].join("\n");
}

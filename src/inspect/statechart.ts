// Statecharts for the page, drawn from the machine definitions themselves: every machine exported
// by a file in machines/ is found by its id (the `machine` of an actor record), turned into
// Graphviz DOT and rendered to SVG with @viz-js/viz (Graphviz as WebAssembly, loaded on first
// use). Each state's DOT node is named by its path (`commands.reading`), the form the page gets by
// flattening a snapshot's value, so the page highlights the active states by the nodes' <title>.

import { readdir } from "node:fs/promises";
import { StateMachine, type AnyStateMachine, type AnyStateNode } from "xstate";
import { ownExtension, ownPath } from "../../supervisors/project-files.js";

const MACHINES_DIR = ownPath("machines/");

let catalog: Promise<Map<string, AnyStateMachine>> | undefined;

/** Every machine in machines/, by id. */
export function machineCatalog(): Promise<Map<string, AnyStateMachine>> {
  catalog ??= (async () => {
    const machines = new Map<string, AnyStateMachine>();
    const files = (await readdir(MACHINES_DIR)).filter((file) => file.endsWith(ownExtension) && !file.endsWith(".d.ts"));
    for (const file of files.sort()) {
      const module = (await import(new URL(file, MACHINES_DIR).href)) as Record<string, unknown>;
      for (const value of Object.values(module)) if (value instanceof StateMachine) machines.set(value.id, value);
    }
    return machines;
  })();
  return catalog;
}

const pathOf = (node: AnyStateNode): string => node.path.join(".");
const quote = (text: string): string => JSON.stringify(text);

/** XState's generated event names, shortened to what a reader of the chart wants. */
function edgeLabel(eventType: string): string {
  if (eventType.startsWith("xstate.done.actor.")) return "done";
  if (eventType.startsWith("xstate.error.actor.")) return "error";
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after !== null) return `after ${after[1]}`;
  return eventType;
}

/** DOT for a machine: compound states as clusters holding a node named by their own path. */
export function machineDot(machine: AnyStateMachine): string {
  const lines = [`digraph ${quote(machine.id)} {`, "  rankdir=LR; compound=true;", '  node [shape=box style="rounded,filled" fillcolor=white fontname=sans fontsize=11];', "  edge [fontname=sans fontsize=9];"];
  const edges = new Set<string>();
  const addEdges = (node: AnyStateNode, label: string, targets: readonly AnyStateNode[] | undefined): void => {
    for (const target of targets ?? []) edges.add(`  ${quote(pathOf(node) || machine.id)} -> ${quote(pathOf(target) || machine.id)} [label=${quote(label)}];`);
  };
  const walk = (node: AnyStateNode, indent: string): void => {
    const name = pathOf(node) || machine.id;
    const children = Object.values(node.states) as AnyStateNode[];
    const shape = node.type === "final" ? " peripheries=2" : node.type === "history" ? " shape=circle" : "";
    if (children.length === 0) {
      lines.push(`${indent}${quote(name)} [label=${quote(node.key)}${shape}];`);
    } else {
      lines.push(`${indent}subgraph ${quote(`cluster_${name}`)} {`, `${indent}  label=""; style=rounded;`);
      lines.push(`${indent}  ${quote(name)} [label=${quote(node.key)} shape=plaintext style=""];`);
      for (const child of children) walk(child, `${indent}  `);
      lines.push(`${indent}}`);
    }
    for (const [eventType, transitions] of node.transitions) for (const t of transitions) addEdges(node, edgeLabel(eventType), t.target);
    for (const t of node.always ?? []) addEdges(node, "", t.target);
  };
  walk(machine.root, "  ");
  lines.push(...edges, "}");
  return lines.join("\n");
}

let viz: Promise<{ renderString(dot: string, options: { format: "svg" }): string }> | undefined;
const rendered = new Map<string, Promise<string | undefined>>();

/** The machine's chart as SVG; undefined when no machine has that id. */
export function machineSvg(id: string): Promise<string | undefined> {
  let svg = rendered.get(id);
  if (svg === undefined) {
    svg = (async () => {
      const machine = (await machineCatalog()).get(id);
      if (machine === undefined) return undefined;
      viz ??= import("@viz-js/viz").then((module) => module.instance());
      return (await viz).renderString(machineDot(machine), { format: "svg" });
    })();
    rendered.set(id, svg);
  }
  return svg;
}

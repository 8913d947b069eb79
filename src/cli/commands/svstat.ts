// `tsqmail svstat [SERVICE…] [--tree]`: daemontools' svstat lines for the root's services (all
// of them when none is named). `--tree` prints the supervision tree instead, each service with
// what tsqmail's own status record adds: ready or not, thread, starts, and the last exit.

import { readServiceDefinition, listServiceNames } from "../../runtime/service-definition.js";
import { readStatusRecord, type StatusRecord } from "../../runtime/status-record.js";
import { treeLayout, type LaidOutService } from "../../runtime/tree-layout.js";
import { rootPaths } from "../../root/paths.js";
import { svstatLine } from "../../../supervisors/daemontools/svstat-format.js";
import { join } from "node:path";
import type { Command } from "../command.js";
import { takeRoot } from "../command-args.js";
import { serviceDirOf } from "./service-args.js";

function lineFor(root: string, service: string, now: number): string {
  const dir = serviceDirOf(root, service);
  const line = svstatLine(dir, now);
  // Named services print under their name, as svstat prints the directory it was given.
  return service.includes("/") ? line : `${service}${line.slice(dir.length)}`;
}

function extra(record: StatusRecord | undefined): string {
  if (record === undefined) return "";
  const parts = [record.ready ? "ready" : record.up ? "starting" : undefined, `${record.starts} start${record.starts === 1 ? "" : "s"}`];
  if (record.up) parts.unshift(`thread ${record.childId}`);
  const exit = record.lastExit;
  if (exit !== undefined) parts.push(`last exit ${exit.code}${exit.error === undefined ? "" : `: ${exit.error.split("\n")[0]}`}`);
  return ` [${parts.filter((p) => p !== undefined).join(", ")}]`;
}

async function tree(root: string, now: number): Promise<string[]> {
  const paths = rootPaths(root);
  const services: LaidOutService[] = [];
  const broken: string[] = [];
  for (const name of (await listServiceNames(paths)).sort()) {
    try {
      const definition = await readServiceDefinition(paths, name, process.env);
      services.push({ name, builtin: definition.builtin });
    } catch (error) {
      broken.push(`${name}: ${(error as Error).message}`);
    }
  }
  const lines = ["tsqmail (one_for_one)"];
  const branches = treeLayout(services);
  branches.forEach((branch, b) => {
    const lastBranch = b === branches.length - 1 && broken.length === 0;
    lines.push(`${lastBranch ? "└─" : "├─"} ${branch.name} (${branch.strategy}${branch.ordered ? ", ordered" : ""})`);
    branch.services.forEach((name, s) => {
      const record = readStatusRecord(join(paths.serviceDir(name), "supervise"));
      const branchPipe = lastBranch ? "   " : "│  ";
      lines.push(`${branchPipe}${s === branch.services.length - 1 ? "└─" : "├─"} ${lineFor(root, name, now)}${extra(record)}`);
    });
  });
  broken.forEach((text, i) => lines.push(`${i === broken.length - 1 ? "└─" : "├─"} ${text}`));
  return lines;
}

export const svstat: Command = {
  name: "svstat",
  summary: "service status as daemontools' svstat prints it; --tree for the supervision tree",
  usage: "tsqmail svstat [--root DIR] [--tree] [SERVICE...]",
  async run(args, io) {
    const { root, rest } = takeRoot(args, io.env, "anywhere");
    const now = Date.now();
    if (rest.includes("--tree")) {
      for (const line of await tree(root, now)) io.stdout.write(`${line}\n`);
      return 0;
    }
    const named = rest.length > 0 ? rest : (await listServiceNames(rootPaths(root))).sort();
    for (const service of named) io.stdout.write(`${lineFor(root, service, now)}\n`);
    return 0;
  },
};

// The shape of the supervision tree, from the service names in a root. It is the table of
// contents of a running tsqmail (`tsqmail svstat --tree` prints it):
//
//   tsqmail (one_for_one)
//   ├── queue (rest_for_one, ordered): the delivery pipeline, each started once the one before
//   │                                  it is ready; a failure restarts it and those after it
//   ├── network (one_for_one): listeners, independent of each other
//   └── local (one_for_one): the administrator's own services (a module path in `module`)

import type { Strategy } from "../../supervisors/tree.js";
import { BUILTIN_SERVICES, findBuiltin, type ServiceGroup } from "./builtin-services.js";

export type BranchName = ServiceGroup | "local";

export interface Branch {
  readonly name: BranchName;
  readonly strategy: Strategy;
  readonly ordered: boolean;
  readonly services: readonly string[];
}

const BRANCHES: readonly Omit<Branch, "services">[] = [
  { name: "queue", strategy: "rest_for_one", ordered: true },
  { name: "network", strategy: "one_for_one", ordered: false },
  { name: "local", strategy: "one_for_one", ordered: false },
];

/** A service as the layout sees it: its directory name and the built-in it runs, if any. */
export interface LaidOutService {
  readonly name: string;
  readonly builtin: string | undefined;
}

/** Branches in start order, each with its services in start order; empty branches left out. */
export function treeLayout(services: readonly LaidOutService[]): Branch[] {
  const rank = (service: LaidOutService): number => {
    const index = BUILTIN_SERVICES.findIndex((builtin) => builtin.name === service.builtin);
    return index === -1 ? BUILTIN_SERVICES.length : index;
  };
  const sorted = [...services].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
  const branchOf = (service: LaidOutService): BranchName =>
    (service.builtin === undefined ? undefined : findBuiltin(service.builtin)?.group) ?? "local";
  return BRANCHES.map((branch) => ({
    ...branch,
    services: sorted.filter((service) => branchOf(service) === branch.name).map((service) => service.name),
  })).filter((branch) => branch.services.length > 0);
}

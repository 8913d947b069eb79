// An in-memory RunningChild for testing supervisors without threads: it records the signals it
// gets and exits when told to (or when it receives term, if it honours it).

import type { ChildExit, RunningChild } from "../../supervisors/running-child.js";
import type { ServiceSignal } from "../../supervisors/thread-protocol.js";

export interface FakeChild extends RunningChild {
  readonly signals: ServiceSignal[];
  killed: boolean;
  becomeReady(): void;
  exit(exit?: ChildExit): void;
}

let nextId = 1;

export function fakeChild(options: { honoursTerm?: boolean; readyAtOnce?: boolean } = {}): FakeChild {
  let resolveReady: () => void = () => {};
  let resolveExit: (exit: ChildExit) => void = () => {};
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  const exited = new Promise<ChildExit>((resolve) => (resolveExit = resolve));
  const child: FakeChild = {
    id: nextId++,
    ready,
    exited,
    signals: [],
    killed: false,
    becomeReady: () => resolveReady(),
    exit: (exit = { code: 0 }) => resolveExit(exit),
    signal(signal) {
      child.signals.push(signal);
      if (signal === "term" && (options.honoursTerm ?? true)) resolveExit({ code: 0 });
    },
    kill() {
      child.killed = true;
      resolveExit({ code: 1, error: "killed" });
    },
  };
  if (options.readyAtOnce ?? true) resolveReady();
  return child;
}

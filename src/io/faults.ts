// Fault seam: every file-system, socket, DNS and child-process call in src/ passes a fault point
// naming its seam, its site (which part of tsqmail is calling) and its operation. With no hook
// installed the check costs one comparison; chaos runs and users' own tests install a hook that
// may throw the error a real system call would have thrown (EIO, ENOSPC, ECONNRESET, …), or
// return an action for the faults no thrown error can stand for: a call that is slow, a write
// that gets only part of its bytes out. Only the net and dns seams carry actions out.

export type FaultSeam = "fs" | "net" | "dns" | "child";

export interface FaultPoint {
  readonly seam: FaultSeam;
  readonly site: string;
  readonly op: string;
  readonly path?: string;
}

/**
 * What a hook may ask of the call instead of failing it. `delayMs`: the call waits that long, then
 * goes ahead (net: listen, accept, connect, read, write; dns: every lookup). `truncateAfter`: a
 * socket write sends only its first bytes, then the connection is reset (net writes only).
 */
export type FaultAction = { readonly delayMs: number } | { readonly truncateAfter: number };

/** How long `action` holds the call back: 0 for none or for an action that is not a delay. */
export function delayOf(action: FaultAction | undefined): number {
  return action !== undefined && "delayMs" in action ? action.delayMs : 0;
}

/** Throws to inject a fault at this point, returns an action to bend the real call, or nothing to let it go ahead. */
export type FaultHook = (point: FaultPoint) => FaultAction | void;

let hook: FaultHook | undefined;

export function setFaultHook(next: FaultHook | undefined): void {
  hook = next;
}

/** A fault point for a seam that carries out no actions (fs, child): the hook may only throw. */
export function faultPoint(point: FaultPoint): void {
  faultAction(point);
}

/** A fault point for a seam that carries out actions (net, dns): the action asked for, if any. */
export function faultAction(point: FaultPoint): FaultAction | undefined {
  return hook === undefined ? undefined : (hook(point) ?? undefined);
}

/** An Error shaped like the one Node's fs and net modules throw for `code`. */
export function systemError(code: string, point: FaultPoint): NodeJS.ErrnoException {
  const where = point.path === undefined ? point.op : `${point.op} '${point.path}'`;
  const error: NodeJS.ErrnoException = new Error(`${code}: injected fault, ${where} (${point.site})`);
  error.code = code;
  error.syscall = point.op;
  if (point.path !== undefined) error.path = point.path;
  return error;
}

// Fault seam: every file-system, socket, DNS and child-process call in src/ passes a fault point
// naming its seam, its site (which part of tsqmail is calling) and its operation. With no hook
// installed the check costs one comparison; chaos runs and users' own tests install a hook that
// may throw the error a real system call would have thrown (EIO, ENOSPC, ECONNRESET, …).

export type FaultSeam = "fs" | "net" | "dns" | "child";

export interface FaultPoint {
  readonly seam: FaultSeam;
  readonly site: string;
  readonly op: string;
  readonly path?: string;
}

/** Throws to inject a fault at this point, returns to let the real call go ahead. */
export type FaultHook = (point: FaultPoint) => void;

let hook: FaultHook | undefined;

export function setFaultHook(next: FaultHook | undefined): void {
  hook = next;
}

export function faultPoint(point: FaultPoint): void {
  if (hook !== undefined) hook(point);
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

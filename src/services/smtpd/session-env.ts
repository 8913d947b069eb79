// A connection's environment, kept small: tcpserver hands each connection a full copy of the
// service's environment plus its own variables (≈ 2 KB apiece, most of it the same for every
// connection). A session keeps only what differs, over the service's environment as prototype,
// and flattens it again only when a program is started with it.

export type SessionEnv = Readonly<Record<string, string | undefined>>;

/**
 * The service's environment as a plain object, made once per environment object. A worker's
 * environment (its process.env) is fixed when the thread starts, and each read of process.env
 * is a call into the runtime: comparing and reading through a plain copy is what keeps a
 * connection's environment cheap to make and to read.
 */
const plainCopies = new WeakMap<SessionEnv, SessionEnv>();

function plainCopy(serviceEnv: SessionEnv): SessionEnv {
  let copy = plainCopies.get(serviceEnv);
  if (copy === undefined) {
    // Not frozen: a frozen prototype's properties could not be shadowed by a connection's own.
    copy = { ...serviceEnv };
    plainCopies.set(serviceEnv, copy);
  }
  return copy;
}

/** `env` as the variables that differ from `serviceEnv`, reading through to `serviceEnv` for the rest. */
export function compactEnv(serviceEnv: SessionEnv, env: SessionEnv): SessionEnv {
  const base = plainCopy(serviceEnv);
  const own: Record<string, string | undefined> = Object.create(base) as Record<string, string | undefined>;
  for (const name of Object.keys(env)) if (base[name] !== env[name]) own[name] = env[name];
  // A service variable the connection does not have (tcpserver removes stale TCP* ones) must not show through.
  for (const name of Object.keys(base)) if (!(name in env) && base[name] !== undefined) own[name] = undefined;
  return own;
}

/** A plain object with every variable that is set, for a child process. */
export function flatEnv(env: SessionEnv, extra: SessionEnv = {}): NodeJS.ProcessEnv {
  const flat: NodeJS.ProcessEnv = {};
  for (const name in env) if (env[name] !== undefined) flat[name] = env[name];
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) flat[name] = value;
  return flat;
}

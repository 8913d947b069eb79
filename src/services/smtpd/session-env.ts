// A connection's environment, kept small: tcpserver hands each connection a full copy of the
// service's environment plus its own variables (≈ 2 KB apiece, most of it the same for every
// connection). A session keeps only what differs, over the service's environment as prototype,
// and flattens it again only when a program is started with it.

export type SessionEnv = Readonly<Record<string, string | undefined>>;

/** `env` as the variables that differ from `serviceEnv`, reading through to `serviceEnv` for the rest. */
export function compactEnv(serviceEnv: SessionEnv, env: SessionEnv): SessionEnv {
  const own: Record<string, string | undefined> = Object.create(serviceEnv) as Record<string, string | undefined>;
  for (const [name, value] of Object.entries(env)) if (serviceEnv[name] !== value) own[name] = value;
  // A service variable the connection does not have (tcpserver removes stale TCP* ones) must not show through.
  for (const name of Object.keys(serviceEnv)) if (!(name in env) && serviceEnv[name] !== undefined) own[name] = undefined;
  return own;
}

/** A plain object with every variable that is set, for a child process. */
export function flatEnv(env: SessionEnv, extra: SessionEnv = {}): NodeJS.ProcessEnv {
  const flat: NodeJS.ProcessEnv = {};
  for (const name in env) if (env[name] !== undefined) flat[name] = env[name];
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) flat[name] = value;
  return flat;
}

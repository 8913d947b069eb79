// Turns actor contexts and events into plain data fit for the inspection stream: secrets
// (passwords, AUTH responses, tokens) replaced, binary bodies summarised, sockets and other
// live objects named rather than copied, depth and size bounded so a huge context cannot
// flood the bus. A snapshot's changed keys (context-delta.ts) are redacted one by one with the
// same key-level rule (`redactEntry`), so a key reads the same in a change as in a whole context.

const SECRET_KEY = /pass|secret|auth(?!or)|token|credential|response|digest/i;
const MAX_DEPTH = 6;
/** Items of an array, keys of an object, kept; an object with more shows `"…": "more keys"`. */
export const MAX_ITEMS = 50;
const MAX_STRING = 2000;

export function redact(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return value;
  switch (typeof value) {
    case "string":
      return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}… (${value.length} chars)` : value;
    case "number":
    case "boolean":
      return value;
    case "bigint":
      return value.toString();
    case "function":
    case "symbol":
      return `[${typeof value}]`;
  }
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value instanceof Date) return value.toISOString();
  if (depth >= MAX_DEPTH) return "[…]";
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((item) => redact(item, depth + 1));
    if (value.length > MAX_ITEMS) items.push(`… ${value.length - MAX_ITEMS} more`);
    return items;
  }
  if (!isPlainObject(value)) return `[${(value as object).constructor?.name ?? "object"}]`;
  const out: Record<string, unknown> = {};
  let count = 0;
  // for…in rather than Object.entries (no array per object): with the prototype checked above to
  // be Object.prototype or null, it visits the same own keys.
  for (const key in value) {
    if (++count > MAX_ITEMS) {
      out["…"] = "more keys";
      break;
    }
    out[key] = redactEntry(key, value[key], depth);
  }
  return out;
}

/** An object made by a literal (or with a null prototype): copied key by key, not named. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The value under `key` of an object at `depth`, as `redact` puts it: a secret's value hidden. */
export function redactEntry(key: string, item: unknown, depth = 0): unknown {
  return isSecretKey(key) && item !== undefined && item !== null ? "[redacted]" : redact(item, depth + 1);
}

// Contexts are redacted at every snapshot with the same few dozen key names: remembering the
// verdict saves a case-insensitive regex match per key. Keys can also come from mail clients, so
// the memory is bounded; past it, keys are just tested.
const secretKeys = new Map<string, boolean>();
const MAX_REMEMBERED_KEYS = 1000;

function isSecretKey(key: string): boolean {
  let secret = secretKeys.get(key);
  if (secret === undefined) {
    secret = SECRET_KEY.test(key);
    if (secretKeys.size < MAX_REMEMBERED_KEYS) secretKeys.set(key, secret);
  }
  return secret;
}

// constmap: qmail's lookup table for locals, rcpthosts, virtualdomains, smtproutes and the
// like. Keys compare case-insensitively (ASCII only, as qmail's case_lowerb); when a key occurs
// twice the later line wins.

export function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

export class ConstMap {
  private readonly map = new Map<string, string>();

  constructor(entries: Iterable<readonly [string, string]> = []) {
    for (const [key, value] of entries) this.map.set(asciiLower(key), value);
  }

  get(key: string): string | undefined {
    return this.map.get(asciiLower(key));
  }

  has(key: string): boolean {
    return this.map.has(asciiLower(key));
  }

  get size(): number {
    return this.map.size;
  }

  /** Entries with their lowercased keys, in first-insertion order. */
  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }
}

// An indexed binary min-heap of jobs keyed by next-try time: push, pop, peek and remove by key
// each cost O(log n) comparisons. It counts its comparisons and operations, so a test can check
// the cost per scheduling decision instead of trusting a timing. Pure data structure.

export interface HeapJob {
  readonly key: string;
  at: number;
}

export class JobHeap<J extends HeapJob> {
  private readonly items: J[] = [];
  private readonly positions = new Map<string, number>();
  comparisons = 0;
  operations = 0;

  get size(): number {
    return this.items.length;
  }

  has(key: string): boolean {
    return this.positions.has(key);
  }

  /** The queued jobs, in no particular order. */
  jobs(): Iterable<J> {
    return this.items;
  }

  peek(): J | undefined {
    return this.items[0];
  }

  push(job: J): void {
    if (this.positions.has(job.key)) throw new Error(`job ${job.key} is already queued`);
    this.operations++;
    this.items.push(job);
    this.positions.set(job.key, this.items.length - 1);
    this.siftUp(this.items.length - 1);
  }

  pop(): J | undefined {
    const top = this.items[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  remove(key: string): J | undefined {
    const index = this.positions.get(key);
    if (index === undefined) return undefined;
    const job = this.items[index]!;
    this.removeAt(index);
    return job;
  }

  /** Gives every job the same time (svc -a): equal keys keep the heap valid without reordering. */
  setAllTimes(at: number): void {
    this.operations++;
    for (const job of this.items) job.at = at;
  }

  private removeAt(index: number): void {
    this.operations++;
    this.positions.delete(this.items[index]!.key);
    const last = this.items.pop()!;
    if (index === this.items.length) return; // the removed job was the last one
    this.items[index] = last;
    this.positions.set(last.key, index);
    this.siftDown(index);
    this.siftUp(index);
  }

  private less(a: number, b: number): boolean {
    this.comparisons++;
    return this.items[a]!.at < this.items[b]!.at;
  }

  private swap(a: number, b: number): void {
    const first = this.items[a]!;
    const second = this.items[b]!;
    this.items[a] = second;
    this.items[b] = first;
    this.positions.set(second.key, a);
    this.positions.set(first.key, b);
  }

  private siftUp(index: number): void {
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.less(index, parent)) return;
      this.swap(index, parent);
      index = parent;
    }
  }

  private siftDown(index: number): void {
    for (;;) {
      const left = 2 * index + 1;
      if (left >= this.items.length) return;
      const right = left + 1;
      const smaller = right < this.items.length && this.less(right, left) ? right : left;
      if (!this.less(smaller, index)) return;
      this.swap(smaller, index);
      index = smaller;
    }
  }
}

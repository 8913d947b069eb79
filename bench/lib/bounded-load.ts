// A bounded load in this process: `concurrency` workers run an operation, each starting the next
// as it finishes, until `messages` have started or `seconds` have passed; returns completions per
// second. The in-process contenders (enqueue, the disk's ceiling) share it so they are timed alike.

/** Runs `op` for message 0, 1, 2, … from `concurrency` workers until `messages` are done or time is up. */
export async function boundedLoad(concurrency: number, messages: number, seconds: number, op: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  let done = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (next < messages && performance.now() < deadline) {
      await op(next++);
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / ((performance.now() - started) / 1000);
}

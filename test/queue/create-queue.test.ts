import { lstat, readFile, writeFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createQueue } from "../../src/queue/create-queue.js";
import { queueLayout } from "../../src/queue/queue-layout.js";
import { tempQueue, type TempQueue } from "./queue-fixture.js";

let queue: TempQueue | undefined;
afterEach(async () => {
  await queue?.remove();
  queue = undefined;
});

const modeOf = async (path: string): Promise<number> => (await lstat(path)).mode & 0o7777;

describe("queue layout", () => {
  it("puts split files in <N%23>/N and flat ones in N", () => {
    const layout = queueLayout("/q");
    expect(layout.file("mess", 2147322)).toBe(`/q/mess/${2147322 % 23}/2147322`);
    expect(layout.file("mess", 46)).toBe("/q/mess/0/46");
    expect(layout.file("remote", 22)).toBe("/q/remote/22/22");
    expect(layout.file("todo", 46)).toBe("/q/todo/46");
    expect(layout.file("bounce", 7)).toBe("/q/bounce/7");
    expect(layout.splitDir("info", 24)).toBe("/q/info/1");
    expect(layout.trigger).toBe("/q/lock/trigger");
  });
});

describe("createQueue", () => {
  it("creates qmail's directories, split 23, with qmail's modes", async () => {
    queue = await tempQueue();
    const q = queue.queueDir;
    expect((await readdir(q)).sort()).toEqual(
      ["bounce", "info", "intd", "local", "lock", "mess", "pid", "remote", "todo"].sort(),
    );
    expect(await modeOf(q)).toBe(0o750);
    const expected: Record<string, number> = {
      pid: 0o700, intd: 0o700, todo: 0o750, mess: 0o750, info: 0o700, local: 0o700, remote: 0o700, bounce: 0o700, lock: 0o750,
    };
    for (const [name, mode] of Object.entries(expected)) expect(await modeOf(join(q, name)), name).toBe(mode);
    for (const split of ["mess", "info", "local", "remote"]) {
      const subs = (await readdir(join(q, split))).map(Number).sort((a, b) => a - b);
      expect(subs).toEqual(Array.from({ length: 23 }, (_, i) => i));
      expect(await modeOf(join(q, split, "22"))).toBe(expected[split]);
    }
    for (const flat of ["pid", "intd", "todo", "bounce"]) expect(await readdir(join(q, flat))).toEqual([]);
  });

  it("creates lock/trigger as a FIFO 0622, lock/tcpto as 1024 zero bytes 0644, lock/sendmutex 0600", async () => {
    queue = await tempQueue();
    const layout = queueLayout(queue.queueDir);
    const trigger = await lstat(layout.trigger);
    expect(trigger.isFIFO()).toBe(true);
    expect(trigger.mode & 0o7777).toBe(0o622);
    const tcpto = await readFile(layout.tcpto);
    expect(tcpto.length).toBe(1024);
    expect(tcpto.every((b) => b === 0)).toBe(true);
    expect(await modeOf(layout.tcpto)).toBe(0o644);
    expect((await lstat(layout.sendmutex)).isFile()).toBe(true);
    expect(await modeOf(layout.sendmutex)).toBe(0o600);
  });

  it("is idempotent: completes a damaged queue, keeps existing contents, resets modes", async () => {
    queue = await tempQueue();
    const layout = queueLayout(queue.queueDir);
    const tcptoData = Buffer.alloc(1024, 7);
    await writeFile(layout.tcpto, tcptoData);
    const { rm, chmod } = await import("node:fs/promises");
    await rm(join(queue.queueDir, "remote", "13"), { recursive: true });
    await rm(layout.trigger);
    await chmod(join(queue.queueDir, "todo"), 0o777);

    await createQueue(queue.queueDir);
    await createQueue(queue.queueDir);

    expect((await lstat(join(queue.queueDir, "remote", "13"))).isDirectory()).toBe(true);
    expect((await lstat(layout.trigger)).isFIFO()).toBe(true);
    expect(await readFile(layout.tcpto)).toEqual(tcptoData);
    expect(await modeOf(join(queue.queueDir, "todo"))).toBe(0o750);
  });
});

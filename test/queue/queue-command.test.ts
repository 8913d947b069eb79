// `tsqmail queue` as a real child process of a qmail-style caller (python3 here): the message
// goes down a pipe on fd 0, the envelope down a pipe(2) on fd 1 — written only after the whole
// message, as qmail.c does — and the exit code and the queue files are checked byte for byte.

import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { queueLayout } from "../../src/queue/queue-layout.js";
import { queueFiles, tempQueue, type TempQueue } from "./queue-fixture.js";

const execFileAsync = promisify(execFile);

let queue: TempQueue | undefined;
afterEach(async () => {
  await queue?.remove();
  queue = undefined;
});

// argv: root, message file, envelope file, seconds to wait before sending the envelope.
const CALLER = `
import os, subprocess, sys, time
root, message_file, envelope_file, delay = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
msg_r, msg_w = os.pipe()
env_r, env_w = os.pipe()
child = subprocess.Popen(["node", "--import", "tsx", "src/cli/main.ts", "queue", "--root", root],
                         stdin=msg_r, stdout=env_r, close_fds=True)
os.close(msg_r); os.close(env_r)
try:
    with open(message_file, "rb") as f:
        data = f.read()
    view = memoryview(data)
    while view:
        n = os.write(msg_w, view[:65536]); view = view[n:]
    os.close(msg_w)
    time.sleep(delay)
    with open(envelope_file, "rb") as f:
        os.write(env_w, f.read())
except BrokenPipeError:
    pass
os.close(env_w)
sys.exit(child.wait())
`;

async function callQueue(root: string, message: Buffer | string, envelope: string, delaySeconds = 0): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "tsqmail-caller-"));
  try {
    await writeFile(join(dir, "caller.py"), CALLER);
    await writeFile(join(dir, "message"), message);
    await writeFile(join(dir, "envelope"), Buffer.from(envelope, "latin1"));
    const args = [join(dir, "caller.py"), root, join(dir, "message"), join(dir, "envelope"), String(delaySeconds)];
    try {
      await execFileAsync("python3", args, { cwd: resolve("."), env: { ...process.env, TSQMAIL_ROOT: "" } });
      return 0;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== "number") throw error;
      return code;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const uid = process.getuid?.() ?? 0;
const RECEIVED = new RegExp(`^Received: \\(qmail (\\d+) invoked by uid ${uid}\\); \\d{1,2} [A-Z][a-z]{2} \\d{4} \\d\\d:\\d\\d:\\d\\d -0000\\n`);

describe("tsqmail queue over real pipes", () => {
  it("queues a message in qmail's exact format, envelope arriving late on fd 1", async () => {
    queue = await tempQueue();
    const body = "From: a@x\nSubject: via pipes\n\n" + "line of text\n".repeat(20_000); // > a pipe buffer
    expect(await callQueue(queue.root, body, "Fa@x\0Tb@y\0Tc@z\0\0", 0.3)).toBe(0);

    const files = await queueFiles(queue.queueDir);
    expect(files).toHaveLength(3);
    const id = Number(files.find((f) => f.startsWith("todo/"))!.slice(5));
    const layout = queueLayout(queue.queueDir);
    const mess = await readFile(layout.file("mess", id), "latin1");
    const received = RECEIVED.exec(mess);
    expect(received).not.toBeNull();
    expect(mess.slice(received![0].length)).toBe(body);
    const qp = received![1];
    expect(await readFile(layout.file("todo", id), "latin1")).toBe(`u${uid}\0p${qp}\0Fa@x\0Tb@y\0Tc@z\0`);
    expect(await readFile(layout.file("intd", id), "latin1")).toBe(`u${uid}\0p${qp}\0Fa@x\0Tb@y\0Tc@z\0`);
  });

  it("91 for an envelope not starting with F: mess and intd are left for the cleanup, nothing in todo", async () => {
    queue = await tempQueue();
    expect(await callQueue(queue.root, "x\n", "Ta@x\0\0")).toBe(91);
    const left = await queueFiles(queue.queueDir);
    expect(left.map((f) => f.split("/")[0])).toEqual(["intd", "mess"]);
  });

  it("54 when the envelope ends before its final NUL: everything made is removed", async () => {
    queue = await tempQueue();
    expect(await callQueue(queue.root, "x\n", "Fa@x\0Tb@y\0")).toBe(54);
    expect(await queueFiles(queue.queueDir)).toEqual([]);
  });

  it("11 for a 1003-byte recipient; 1002 bytes are accepted", async () => {
    queue = await tempQueue();
    expect(await callQueue(queue.root, "x\n", `Fa@x\0T${"r".repeat(1003)}\0\0`)).toBe(11);
    expect(await callQueue(queue.root, "x\n", `Fa@x\0T${"r".repeat(1002)}\0\0`)).toBe(0);
  });

  it("61 without the root, 62 without its queue, 100 for bad arguments", async () => {
    const empty = await mkdtemp(join(tmpdir(), "tsqmail-noqueue-"));
    try {
      expect(await callQueue(join(empty, "missing"), "x\n", "Fa\0\0")).toBe(61);
      expect(await callQueue(empty, "x\n", "Fa\0\0")).toBe(62);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
    const usage = await execFileAsync("node", ["--import", "tsx", "src/cli/main.ts", "queue", "extra"]).catch(
      (error: { code: number }) => error.code,
    );
    expect(usage).toBe(100);
  });
});

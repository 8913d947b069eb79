// QMAILQUEUE: enqueue runs a real replacement program (shell scripts written here) with the
// message on fd 0, the envelope on fd 1 and a text pipe on fd 6, and maps its exit to qmail's texts.

import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { enqueue } from "../../src/queue/enqueue.js";
import { queueLayout } from "../../src/queue/queue-layout.js";
import { chunks, queueFiles, tempQueue, type TempQueue } from "./queue-fixture.js";

let queue: TempQueue | undefined;
afterEach(async () => {
  await queue?.remove();
  queue = undefined;
});

async function script(name: string, body: string): Promise<string> {
  const path = join(queue!.root, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

const envelope = { sender: "s@x", recipients: ["r1@y", "r2@z"] };

describe("enqueue with QMAILQUEUE", () => {
  it("gives the program the message on fd 0 and the envelope on fd 1, in the root, with the environment", async () => {
    queue = await tempQueue();
    const program = await script(
      "qq",
      'cat > got-message; cat <&1 > got-envelope; pwd > got-cwd; printf %s "$MARK" > got-mark; exit 0',
    );
    const result = await enqueue(queue.queueDir, chunks("Subject: s\n\n", "body\n"), envelope, {
      invokedBy: "network",
      env: { QMAILQUEUE: program, MARK: "passed through", PATH: process.env.PATH },
    });
    expect(result).toEqual({ ok: true, id: null, qp: expect.any(Number) });
    const got = (name: string) => readFile(join(queue!.root, name), "latin1");
    expect(await got("got-message")).toBe("Subject: s\n\nbody\n");
    expect(await got("got-envelope")).toBe("Fs@x\0Tr1@y\0Tr2@z\0\0");
    expect((await got("got-cwd")).trim()).toBe(resolve(queue.root));
    expect(await got("got-mark")).toBe("passed through");
    expect(await queueFiles(queue.queueDir)).toEqual([]); // the program, not tsqmail, queued it
  });

  it.each([
    [31, "Dmail server permanently rejected message (#5.3.0)"],
    [53, "Zqq write error or disk full (#4.3.0)"],
    [71, "Zmail server temporarily rejected message (#4.3.0)"],
    [25, "Dqq permanent problem (#5.3.0)"],
    [99, "Zqq temporary problem (#4.3.0)"],
  ])("maps exit %d to %s", async (code, text) => {
    queue = await tempQueue();
    const program = await script("qq", `cat >/dev/null; cat <&1 >/dev/null; exit ${code}`);
    const result = await enqueue(queue.queueDir, chunks("x\n"), envelope, { invokedBy: "network", env: { QMAILQUEUE: program } });
    expect(result).toEqual({ ok: false, exit: code, text });
  });

  it("takes notqmail's custom text from fd 6 after exit 82, only when it starts with D or Z", async () => {
    queue = await tempQueue();
    const custom = await script("qq82", "cat >/dev/null; printf 'Dvirus found (#5.7.1)\\r\\nSMTP: injected' >&6; exit 82");
    expect(await enqueue(queue.queueDir, chunks("x\n"), envelope, { invokedBy: "network", env: { QMAILQUEUE: custom } })).toEqual({
      ok: false,
      exit: 82,
      text: "Dvirus found (#5.7.1)",
    });
    const bad = await script("qq82bad", "cat >/dev/null; printf 'not a reply' >&6; exit 82");
    expect(await enqueue(queue.queueDir, chunks("x\n"), envelope, { invokedBy: "network", env: { QMAILQUEUE: bad } })).toEqual({
      ok: false,
      exit: 82,
      text: "Zqq temporary problem (#4.3.0)",
    });
  });

  it("reports a program killed by a signal as crashed, and one that cannot run as 120", async () => {
    queue = await tempQueue();
    const crashing = await script("crash", "kill -KILL $$");
    expect(await enqueue(queue.queueDir, chunks("x\n"), envelope, { invokedBy: "network", env: { QMAILQUEUE: crashing } })).toEqual({
      ok: false,
      exit: "crashed",
      text: "Zqq crashed (#4.3.0)",
    });
    expect(
      await enqueue(queue.queueDir, chunks("x\n"), envelope, { invokedBy: "network", env: { QMAILQUEUE: "bin/no-such-qq" } }),
    ).toEqual({ ok: false, exit: 120, text: "Zunable to exec qq (#4.3.0)" });
  });

  it("finds a relative name in the root, like execv after qmail's chdir, never on PATH", async () => {
    queue = await tempQueue();
    await mkdir(join(queue.root, "bin"));
    await script("bin/qmail-queue", "cat >/dev/null; cat <&1 >/dev/null; exit 71");
    const result = await enqueue(queue.queueDir, chunks("x\n"), envelope, {
      invokedBy: "network",
      env: { QMAILQUEUE: "bin/qmail-queue" },
    });
    expect(result).toMatchObject({ ok: false, exit: 71 });
    const onPath = await enqueue(queue.queueDir, chunks("x\n"), envelope, {
      invokedBy: "network",
      env: { QMAILQUEUE: "true", PATH: process.env.PATH },
    });
    expect(onPath).toMatchObject({ ok: false, exit: 120 });
  });

  it("counts exit 0 after the program stopped reading as a read error (54), as qmail_close does", async () => {
    queue = await tempQueue();
    const program = await script("lazy", "exit 0");
    const big = Buffer.alloc(4 * 1024 * 1024, 0x61);
    const result = await enqueue(queue.queueDir, chunks(big, big), envelope, { invokedBy: "network", env: { QMAILQUEUE: program } });
    expect(result).toEqual({ ok: false, exit: 54, text: "Zqq read error (#4.3.0)" });
  });

  it("chains to `tsqmail queue`: the message lands in tsqmail's queue, invoked by this uid", async () => {
    queue = await tempQueue();
    const main = resolve("src/cli/main.ts");
    const tsx = pathToFileURL(resolve("node_modules/tsx/dist/loader.mjs")).href; // the program runs in the root, not here
    const program = await script("tsqmail-queue", `exec "${process.execPath}" --import "${tsx}" "${main}" queue --root "${queue.root}"`);
    const result = await enqueue(queue.queueDir, chunks("Subject: chained\n\nhi\n"), envelope, {
      invokedBy: "network",
      env: { ...process.env, QMAILQUEUE: program, NODE_OPTIONS: "" },
    });
    expect(result).toMatchObject({ ok: true, id: null });
    const files = await queueFiles(queue.queueDir);
    const todo = files.find((f) => f.startsWith("todo/"));
    expect(todo).toBeDefined();
    const id = Number(todo!.slice("todo/".length));
    const layout = queueLayout(queue.queueDir);
    const mess = await readFile(layout.file("mess", id), "latin1");
    expect(mess).toMatch(new RegExp(`^Received: \\(qmail \\d+ invoked by uid ${process.getuid?.() ?? 0}\\); .* -0000\\nSubject: chained\\n\\nhi\\n$`));
    expect(await readFile(layout.file("todo", id), "latin1")).toMatch(/^u\d+\0p\d+\0Fs@x\0Tr1@y\0Tr2@z\0$/);
  });
});

import { spawn } from "node:child_process";
import { lstatSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { SuperviseStatus } from "../../supervisors/daemontools/status-file.js";
import { openSuperviseDir, type ControlLetter, type SuperviseDir } from "../../supervisors/daemontools/supervise-dir.js";
import { svc } from "../../supervisors/daemontools/svc-client.js";
import { svstatLine } from "../../supervisors/daemontools/svstat-format.js";
import { runTool, svstatBoth, tempDir } from "./debian-tools.js";

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; waited < 5000; waited += 10) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("supervise/ kept by tsqmail, read by Debian's daemontools", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function serviceDir(): Promise<{ dir: string; supervise: SuperviseDir; letters: ControlLetter[] }> {
    const temp = tempDir("svc");
    cleanups.push(temp.remove);
    const letters: ControlLetter[] = [];
    const supervise = await openSuperviseDir(temp.dir, {
      onControl: (letter) => letters.push(letter),
      onError: (error) => {
        throw error;
      },
    });
    cleanups.push(() => supervise.close());
    return { dir: temp.dir, supervise, letters };
  }

  it("creates supervise/ 0700 with the FIFOs control and ok 0600", async () => {
    const { dir } = await serviceDir();
    expect(lstatSync(join(dir, "supervise")).mode & 0o777).toBe(0o700);
    for (const fifo of ["control", "ok"]) {
      const stats = lstatSync(join(dir, "supervise", fifo));
      expect(stats.isFIFO()).toBe(true);
      expect(stats.mode & 0o777).toBe(0o600);
    }
  });

  const cases: { name: string; downFile: boolean; status: Omit<SuperviseStatus, "sinceMs">; expected: string }[] = [
    {
      name: "up, normally down, paused, want down",
      downFile: true,
      status: { pid: 4242, paused: true, want: "down" },
      expected: "up (pid 4242) 7 seconds, normally down, paused, want down",
    },
    { name: "up and normally up", downFile: false, status: { pid: 77, paused: false, want: "up" }, expected: "up (pid 77) 7 seconds" },
    {
      name: "down, normally up, want up",
      downFile: false,
      status: { pid: 0, paused: false, want: "up" },
      expected: "down 7 seconds, normally up, want up",
    },
    { name: "down and normally down", downFile: true, status: { pid: 0, paused: false, want: "down" }, expected: "down 7 seconds" },
    {
      name: "up after svc -o (want neither)",
      downFile: true,
      status: { pid: 9, paused: false, want: "none" },
      expected: "up (pid 9) 7 seconds, normally down",
    },
  ];
  for (const c of cases) {
    it(`Debian svstat and ours both print "${c.name}"`, async () => {
      const { dir, supervise } = await serviceDir();
      if (c.downFile) writeFileSync(join(dir, "down"), "");
      // Seven whole seconds before the current second: the age is 7 unless a second passes.
      const sinceMs = (Math.floor(Date.now() / 1000) - 7) * 1000;
      supervise.writeStatus({ ...c.status, sinceMs });
      const { debian, ours, nowMs } = await svstatBoth(dir);
      const age = Math.floor(nowMs / 1000) - sinceMs / 1000;
      expect(debian).toBe(`${dir}: ${c.expected.replace("7 seconds", `${age} seconds`)}\n`);
      expect(ours).toBe(debian);
    });
  }

  it("delivers the letters of Debian's svc and of ours to onControl, each once and in order", async () => {
    const { dir, letters } = await serviceDir();
    const debian = await runTool("svc", ["-dudx", dir]);
    expect(debian).toEqual({ code: 0, stdout: "", stderr: "" });
    await until(() => letters.length >= 3, "Debian svc's letters");
    expect(svc(["-t", "-pt", dir])).toEqual({ exitCode: 0, messages: [] });
    await until(() => letters.length >= 5, "our svc's letters");
    expect(letters).toEqual(["d", "u", "x", "t", "p"]);
  });

  it("after close, svstat and svc say supervise is not running, in Debian's words and ours", async () => {
    const { dir, supervise } = await serviceDir();
    supervise.writeStatus({ sinceMs: Date.now(), pid: 5, paused: false, want: "up" });
    expect((await svstatBoth(dir)).debian).toMatch(/: up \(pid 5\)/);
    await supervise.close();
    const { debian, ours } = await svstatBoth(dir);
    expect(debian).toBe(`${dir}: supervise not running\n`);
    expect(ours).toBe(debian);
    const debianSvc = await runTool("svc", ["-d", dir]);
    expect(debianSvc.stderr).toBe(`svc: warning: unable to control ${dir}: supervise not running\n`);
    expect(svc(["-d", dir]).messages.map((m) => `${m}\n`).join("")).toBe(debianSvc.stderr);
  });

  it("lets one runtime at a time hold a service directory, and takes over a dead holder's lock", async () => {
    const { dir, supervise } = await serviceDir();
    const handlers = { onControl: () => {}, onError: () => {} };
    await expect(openSuperviseDir(dir, handlers)).rejects.toThrow(`held by pid ${process.pid}`);
    await supervise.close();

    const dead = spawn("true");
    const deadPid = dead.pid!;
    await new Promise((resolve) => dead.on("exit", resolve));
    writeFileSync(join(dir, "supervise", "lock.tsqmail"), `${deadPid}\n`);
    const again = await openSuperviseDir(dir, handlers);
    cleanups.push(() => again.close());
    expect(readFileSync(join(dir, "supervise", "lock.tsqmail"), "latin1")).toBe(`${process.pid}\n`);
  });

  it("refuses a directory that Debian's supervise runs, and reads the status it writes as svstat does", async () => {
    const temp = tempDir("debian-supervise");
    cleanups.push(temp.remove);
    writeFileSync(join(temp.dir, "run"), "#!/bin/sh\nexec sleep 60\n", { mode: 0o755 });
    const debianSupervise = spawn("supervise", [temp.dir], { stdio: "ignore" });
    const exited = new Promise((resolve) => debianSupervise.on("exit", resolve));
    cleanups.push(async () => {
      await runTool("svc", ["-dx", temp.dir]);
      const stopped = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))]);
      if (!stopped) debianSupervise.kill("SIGKILL");
    });
    let line = "";
    await until(() => {
      line = svstatLine(temp.dir, Date.now());
      return line.includes(": up (pid ");
    }, "Debian supervise to start its service");
    const { debian, ours } = await svstatBoth(temp.dir);
    expect(debian).toMatch(/: up \(pid \d+\) \d+ seconds\n$/);
    expect(ours).toBe(debian);
    const handlers = { onControl: () => {}, onError: () => {} };
    await expect(openSuperviseDir(temp.dir, handlers)).rejects.toThrow("supervise already running");
  });
});

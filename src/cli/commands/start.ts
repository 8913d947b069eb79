// `tsqmail start`: runs every service of a root in the foreground, as svscan plus supervise would.
// SIGTERM and SIGINT stop it gracefully within 5 s; SIGHUP reloads every service (svc -h);
// SIGALRM retries every delivery now (svc -a). `--init` first makes or completes the root (what
// `npm start` uses); `--log stdout` sends every service's log to standard output.
// `--inspect[=PORT]` serves the web inspector, `--record FILE` records the inspection stream,
// `--inspect-stately URL` sends it to a relay of Stately's inspector (docs/inspector.md).
// Exits 0 after a stop, 111 if the supervision tree gave up.

import { UsageError, type Command, type CliIo } from "../command.js";
import { parseCommandArgs, rootOf, stringOption } from "../command-args.js";
import { initRoot } from "../../root/init.js";
import { createRuntime, type Runtime } from "../../runtime/runtime.js";
import { useRestingMemoryFlags } from "../../runtime/resting-memory-flags.js";
import { INIT_OPTIONS, initOptionsFrom } from "./init.js";
import { INSPECT_OPTIONS, inspectAddress, withInspectDefault } from "../../inspect/inspect-args.js";

function describe(runtime: Runtime): string {
  const lines = runtime.status().map((s) => `  ${s.name}: ${s.ready ? "up" : s.want === "up" ? "starting" : "down"}`);
  return lines.length === 0 ? "  (no services in service/)" : lines.join("\n");
}

function handleSignals(runtime: Runtime, io: CliIo): () => void {
  const stop = (): void => {
    io.stderr.write("tsqmail: stopping\n");
    void runtime.stop({ timeoutMs: 5000 });
  };
  const handlers: [NodeJS.Signals, () => void][] = [
    ["SIGTERM", stop],
    ["SIGINT", stop],
    ["SIGHUP", () => runtime.svc("h")],
    ["SIGALRM", () => runtime.svc("a")],
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

export const start: Command = {
  name: "start",
  summary: "run every service in the foreground (TERM/INT stop, HUP reload, ALRM retry now)",
  usage: "tsqmail start [--root DIR] [--init [--domain D] [--listen IP] [--base-port N]] [--log stdout]\n       [--inspect[=PORT]] [--inspect-host HOST] [--record FILE]\n       [--inspect-stately ws://HOST:PORT]",
  async run(args, io) {
    const options = { ...INIT_OPTIONS, ...INSPECT_OPTIONS, init: { type: "boolean" }, log: { type: "string" }, record: { type: "string" }, "inspect-stately": { type: "string" } } as const;
    const { values } = parseCommandArgs(withInspectDefault(args), options, false);
    const log = stringOption(values, "log");
    if (log !== undefined && log !== "stdout") throw new UsageError(`--log takes only 'stdout'`);
    const root = rootOf(values, io.env);
    if (values.init === true) {
      const report = await initRoot(initOptionsFrom(root, values));
      if (report.created.length > 0) io.stderr.write(`tsqmail: initialised ${root}\n`);
    }
    const address = inspectAddress(values, io.env);
    const record = stringOption(values, "record");
    const stately = stringOption(values, "inspect-stately");
    const inspector =
      address === undefined && record === undefined && stately === undefined
        ? undefined
        : { ...address, ...(record === undefined ? {} : { record }), ...(stately === undefined ? {} : { stately }) };
    useRestingMemoryFlags();
    const runtime = createRuntime({ root, logToStdout: log === "stdout", stdout: io.stdout, ...(inspector === undefined ? {} : { inspector }) });
    const release = handleSignals(runtime, io);
    try {
      await runtime.start();
      io.stderr.write(`tsqmail: running ${root}\n${describe(runtime)}\n`);
      const url = runtime.inspectorUrl();
      if (url !== undefined) io.stderr.write(`tsqmail: inspector at ${url}\n`);
    } catch (error) {
      // Like supervise, keep trying what failed; say what it is.
      io.stderr.write(`tsqmail: ${(error as Error).message}\n`);
    }
    try {
      await runtime.ended;
      io.stderr.write("tsqmail: stopped\n");
      return 0;
    } catch (error) {
      io.stderr.write(`tsqmail: fatal: ${(error as Error).message}\n`);
      return 111;
    } finally {
      release();
    }
  },
};

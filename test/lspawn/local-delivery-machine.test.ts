// The local-delivery chart with fake side effects: the order of lines, forwards collected and
// sent once at the end, exit 99's stop, failures keeping earlier program output, the checks done
// before any side effect, and a side effect that throws something unexpected counting as Z.

import { createActor, toPromise } from "xstate";
import { describe, expect, it } from "vitest";
import {
  answering,
  localDeliveryMachine,
  type ForwardInput,
  type Instruction,
  type LineInput,
  type LineOutput,
  type PreparedDelivery,
} from "../../machines/local-delivery.js";

const prepared = (instructions: Instruction[]): PreparedDelivery => ({
  instructions,
  home: "/h",
  uid: 1,
  gid: 1,
  asAccount: false,
  newSender: "s@x",
  dtline: "Delivered-To: a@x\n",
  rpline: "Return-Path: <s@x>\n",
  ufline: "From s@x Thu Jan  1 00:00:00 1970\n",
  env: {},
});

function run(instructions: Instruction[], line: (input: LineInput) => Promise<LineOutput>, recipient = "a@x") {
  const calls: string[] = [];
  const forwards: (readonly string[])[] = [];
  const machine = localDeliveryMachine.provide({
    actions: {
      prepare: answering(async () => {
        calls.push("prepare");
        return { type: "PREPARED", prepared: prepared(instructions) };
      }),
      deliverLine: answering(async (input: LineInput) => {
        calls.push(input.instruction.kind === "program" ? input.instruction.command : input.instruction.path);
        return { type: "LINE_DELIVERED", output: await line(input) };
      }),
      forward: answering(async (input: ForwardInput) => {
        forwards.push(input.addresses);
        return { type: "FORWARDED", qp: 42 };
      }),
    },
  });
  const actor = createActor(machine, { input: { messFile: "/q/mess/0/1", sender: "s@x", recipient } }).start();
  return { output: toPromise(actor), calls, forwards };
}

const ok = async (): Promise<LineOutput> => ({ output: "", stop: false });

describe("local-delivery machine", () => {
  it("runs file and program lines in order and sends all forwards once, at the end", async () => {
    const { output, calls, forwards } = run(
      [
        { kind: "forward", address: "b@y" },
        { kind: "maildir", path: "/h/Maildir/" },
        { kind: "forward", address: "c@z" },
        { kind: "program", command: "echo hi" },
      ],
      async (input) => ({ output: input.instruction.kind === "program" ? "hi\n" : "", stop: false }),
    );
    expect(await output).toEqual({ status: "K", report: "hi\ndid 1+2+1\nqp 42\n" });
    expect(calls).toEqual(["prepare", "/h/Maildir/", "echo hi"]);
    expect(forwards).toEqual([["b@y", "c@z"]]);
  });

  it("stops after a program exits 99 but still sends the forwards collected before it", async () => {
    const { output, calls, forwards } = run(
      [
        { kind: "forward", address: "b@y" },
        { kind: "program", command: "exit 99" },
        { kind: "mbox", path: "/h/mbox" },
        { kind: "forward", address: "c@z" },
      ],
      async () => ({ output: "", stop: true }),
    );
    expect((await output).status).toBe("K");
    expect(calls).toEqual(["prepare", "exit 99"]);
    expect(forwards).toEqual([["b@y"]]);
  });

  it("without forward lines nothing is forwarded, after the last line or a program's exit 99", async () => {
    const plain = run([{ kind: "maildir", path: "/h/Maildir/" }], ok);
    expect(await plain.output).toEqual({ status: "K", report: "did 1+0+0\n" });
    const stopped = run(
      [
        { kind: "program", command: "exit 99" },
        { kind: "maildir", path: "/h/Maildir/" },
      ],
      async () => ({ output: "", stop: true }),
    );
    expect(await stopped.output).toEqual({ status: "K", report: "did 0+0+1\n" });
    expect(stopped.calls).toEqual(["prepare", "exit 99"]);
    expect([...plain.forwards, ...stopped.forwards]).toEqual([]);
  });

  it("a failing line ends the delivery with its letter, after the output of earlier programs; nothing is forwarded", async () => {
    let n = 0;
    const { output, forwards } = run(
      [
        { kind: "forward", address: "b@y" },
        { kind: "program", command: "first" },
        { kind: "program", command: "second" },
      ],
      async () => {
        n += 1;
        if (n === 1) return { output: "one\n", stop: false };
        throw { status: "D", text: "two\n" };
      },
    );
    expect(await output).toEqual({ status: "D", report: "one\ntwo\n" });
    expect(forwards).toEqual([]);
  });

  it("anything thrown that is not a DeliveryFailure is temporary", async () => {
    const { output } = run([{ kind: "maildir", path: "/h/M/" }], async () => {
      throw new Error("EIO");
    });
    expect(await output).toEqual({ status: "Z", report: "Temporary failure in local delivery: EIO (#4.3.0)" });
  });

  it("a recipient without @ is refused permanently and an empty local part succeeds, before any side effect", async () => {
    const noHost = run([], ok, "nohost");
    expect(await noHost.output).toEqual({ status: "D", report: "Sorry, address must include host name. (#5.1.3)" });
    const empty = run([], ok, "@x");
    expect(await empty.output).toEqual({ status: "K", report: "did 0+0+0\n" });
    expect([...noHost.calls, ...empty.calls]).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import {
  MAX_ADDRESS_BYTES,
  encodeEnvelope,
  envelopeWireBytes,
  intdFileBytes,
  readEnvelope,
} from "../../src/queue/envelope.js";
import { chunks } from "./queue-fixture.js";

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("latin1");

describe("envelope checks", () => {
  it("accepts a 1002-byte address and rejects 1003 bytes with 11 (qmail's ADDR counts the NUL)", () => {
    expect(MAX_ADDRESS_BYTES).toBe(1002);
    const longest = "a".repeat(1000) + "@b";
    expect(encodeEnvelope({ sender: longest, recipients: [longest] }).ok).toBe(true);
    expect(encodeEnvelope({ sender: longest + "c", recipients: [] })).toEqual({ ok: false, exit: 11 });
    expect(encodeEnvelope({ sender: "", recipients: ["x".repeat(1003)] })).toEqual({ ok: false, exit: 11 });
  });

  it("counts UTF-8 bytes, not characters: 502 two-byte characters are too long, 501 fit", () => {
    expect(encodeEnvelope({ sender: "é".repeat(502), recipients: [] })).toEqual({ ok: false, exit: 11 });
    expect(encodeEnvelope({ sender: "é".repeat(501), recipients: [] }).ok).toBe(true);
  });

  it.each([
    ["NUL", "a@b\0Tvictim@evil"],
    ["LF", "a@b\nBcc: x"],
    ["CR", "a@b\r"],
  ])("rejects %s inside an address permanently (31)", (_, address) => {
    expect(encodeEnvelope({ sender: "ok@x", recipients: [address] })).toEqual({ ok: false, exit: 31 });
    expect(encodeEnvelope({ sender: address, recipients: [] })).toEqual({ ok: false, exit: 31 });
  });

  it("accepts the empty (bounce) sender and no recipients, as qmail-queue does", () => {
    const checked = encodeEnvelope({ sender: "", recipients: [] });
    expect(checked.ok).toBe(true);
    if (checked.ok) expect(text(envelopeWireBytes(checked.envelope))).toBe("F\0\0");
  });
});

describe("envelope byte formats", () => {
  const checked = encodeEnvelope({ sender: "s@x", recipients: ["r1@y", "r2@z"] });
  if (!checked.ok) throw new Error("fixture");
  it("writes the wire format with the final lone NUL", () => {
    expect(text(envelopeWireBytes(checked.envelope))).toBe("Fs@x\0Tr1@y\0Tr2@z\0\0");
  });
  it("writes the intd format without it", () => {
    expect(text(intdFileBytes(1001, 4242, checked.envelope))).toBe("u1001\0p4242\0Fs@x\0Tr1@y\0Tr2@z\0");
  });
});

describe("readEnvelope (qmail-queue's fd 1)", () => {
  const read = async (...parts: string[]) => {
    const result = await readEnvelope(chunks(...parts));
    return result.ok
      ? { sender: text(result.envelope.sender), recipients: result.envelope.recipients.map(text) }
      : result.exit;
  };

  it("parses records split anywhere across chunks and stops at the final NUL", async () => {
    expect(await read("Fs@", "x\0T", "r1@y", "\0", "Tr2@z\0", "\0", "trailing garbage")).toEqual({
      sender: "s@x",
      recipients: ["r1@y", "r2@z"],
    });
  });
  it("91 when the first byte is not F", async () => expect(await read("Ts@x\0\0")).toBe(91));
  it("91 when a record starts with neither T nor the final NUL", async () => expect(await read("Fs@x\0Xr\0\0")).toBe(91));
  it("54 at end of input before the final NUL", async () => {
    expect(await read("Fs@x\0Tr@y\0")).toBe(54);
    expect(await read("Fs@x")).toBe(54);
    expect(await read()).toBe(54);
  });
  it("54 when reading fails", async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield Buffer.from("Fs@x\0");
      throw new Error("EIO");
    }
    expect(await readEnvelope(broken())).toEqual({ ok: false, exit: 54 });
  });
  it("11 as soon as an address passes 1002 bytes, without waiting for its end", async () => {
    expect(await read("F" + "a".repeat(1002) + "\0\0")).toEqual({ sender: "a".repeat(1002), recipients: [] });
    expect(await read("Fs\0T" + "a".repeat(1003))).toBe(11);
  });
  it("31 for CR or LF inside an address", async () => {
    expect(await read("Fs\0Ta\r\nb\0\0")).toBe(31);
  });
});

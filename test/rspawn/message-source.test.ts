// The message from its mess file: the facts MAIL FROM needs (size, 8-bit, complete last line)
// and the body on the wire — a small message in one write, a large one streamed in pieces with
// the same bytes as if it had been held whole.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { siteFs } from "../../src/io/fs.js";
import { DotStuffer } from "../../src/services/rspawn/dot-stuff.js";
import { openMessage } from "../../src/services/rspawn/message-source.js";

const dir = mkdtempSync(join(tmpdir(), "tsqmail-msgsrc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function sent(stored: Buffer): Promise<{ facts: { size: number; eightBit: boolean; complete: boolean }; writes: Buffer[] }> {
  const file = join(dir, `m${stored.length}`);
  writeFileSync(file, stored);
  const message = await openMessage(siteFs("test"), file);
  const writes: Buffer[] = [];
  await message.send(async (bytes) => void writes.push(bytes));
  return { facts: { size: message.size, eightBit: message.eightBit, complete: message.complete }, writes };
}

const heldWhole = (stored: Buffer): Buffer => {
  const stuffer = new DotStuffer();
  return Buffer.concat([stuffer.push(stored), stuffer.end()]);
};

describe("openMessage", () => {
  it("a small message: its facts, and the body in one write", async () => {
    const stored = Buffer.from("Subject: x\n\n.dot\n", "latin1");
    const { facts, writes } = await sent(stored);
    expect(facts).toEqual({ size: stored.length, eightBit: false, complete: true });
    expect(writes).toHaveLength(1);
    expect(writes[0]!.toString("latin1")).toBe("Subject: x\r\n\r\n..dot\r\n.\r\n");
  });

  it("an empty mess file: size 0, complete, and only the final dot goes out", async () => {
    const { facts, writes } = await sent(Buffer.alloc(0));
    expect(facts).toEqual({ size: 0, eightBit: false, complete: true });
    expect(Buffer.concat(writes).toString("latin1")).toBe(".\r\n");
  });

  it("a 3 MB message streams in pieces, byte for byte what the whole would give; 8-bit and a partial last line are seen", async () => {
    const line = "caf\u00e9 .x\r\n.starts with a dot\rbare cr\n";
    const stored = Buffer.from(line.repeat(Math.ceil(3_000_000 / line.length)), "latin1");
    const { facts, writes } = await sent(stored);
    expect(facts).toEqual({ size: stored.length, eightBit: true, complete: true });
    expect(writes.length).toBeGreaterThan(10);
    expect(Buffer.concat(writes).equals(heldWhole(stored))).toBe(true);
    const partial = await sent(Buffer.concat([Buffer.alloc(2_000_000, "a"), Buffer.from("no end")]));
    expect(partial.facts).toEqual({ size: 2_000_006, eightBit: false, complete: false });
  });
});

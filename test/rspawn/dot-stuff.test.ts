// The body on the wire (security.md §0 rule 2, §1.1): lines split first, every line dot-stuffed,
// CR LF always, exactly one end of data — whatever bare CRs and LFs the stored message holds, and
// however the message is cut into chunks as it streams from its file.

import { describe, expect, it } from "vitest";
import { DotStuffer, endsInLine } from "../../src/services/rspawn/dot-stuff.js";

/** The wire bytes for a stored message in one chunk; undefined for a partial final line. */
function wire(stored: string): string | undefined {
  const bytes = Buffer.from(stored, "latin1");
  if (!endsInLine(bytes.at(-1))) return undefined;
  const stuffer = new DotStuffer();
  return Buffer.concat([stuffer.push(bytes), stuffer.end()]).toString("latin1");
}

/** Every place the next hop would take as the end of data (CR LF . CR LF, or the start of the data). */
function endsOfData(data: string): number {
  return (`\r\n${data}`.match(/\r\n\.\r\n/g) ?? []).length;
}

describe("the body on the wire", () => {
  it("turns LF line ends into CR LF, doubles leading dots and adds the final dot", () => {
    expect(wire("Subject: x\n\n.hidden\n..two\nlast\n")).toBe("Subject: x\r\n\r\n..hidden\r\n...two\r\nlast\r\n.\r\n");
  });

  it("keeps a stored CR LF as one line end", () => {
    expect(wire("a\r\nb\n")).toBe("a\r\nb\r\n.\r\n");
  });

  it("notqmail's smuggling case: a stored `X\\r.\\nMAIL FROM:<evil@x>\\n` does not end the data before the smuggled command", () => {
    const data = wire("Subject: x\n\nX\r.\nMAIL FROM:<evil@x>\nRCPT TO:<victim@y>\n")!;
    expect(data).toBe("Subject: x\r\n\r\nX\r\n..\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\n.\r\n");
    expect(endsOfData(data)).toBe(1);
    expect(data.endsWith("\r\n.\r\n")).toBe(true);
  });

  it.each(["\n.\n", "\n.\r", "\r.\n", "\r.\r", "\n.\r\n", "\r.\r\n", "\r\n.\r\r\n", "\r\r\n.\r\r\n", "\r\n.\n", "\r\n.\r"])(
    "the smuggling sequence %j gives exactly one end of data and no bare CR or LF",
    (sequence) => {
      const data = wire(`a${sequence}MAIL FROM:<evil@x>\n`)!;
      expect(endsOfData(data)).toBe(1);
      expect(data.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
    },
  );

  it("a message whose last line has no line end is refused (qmail's #5.6.2)", () => {
    expect(wire("no newline at the end")).toBeUndefined();
    expect(wire("")).toBe(".\r\n");
  });
});

describe("DotStuffer", () => {
  it("gives the same wire bytes whatever the chunk boundaries, a CR LF split between chunks included", () => {
    const text = "Subject: x\r\n\r\n.a\rb\r\n\r.c\n..d\r\r\n.\r\n";
    const stored = Buffer.from(text, "latin1");
    const whole = wire(text)!;
    for (let size = 1; size <= 5; size++) {
      const stuffer = new DotStuffer();
      const parts: Buffer[] = [];
      for (let at = 0; at < stored.length; at += size) parts.push(stuffer.push(stored.subarray(at, at + size)));
      parts.push(stuffer.end());
      expect(Buffer.concat(parts).toString("latin1")).toBe(whole);
    }
  });
});

// The body on the wire (security.md §0 rule 2, §1.1): lines split first, every line dot-stuffed,
// CR LF always, exactly one end of data — whatever bare CRs and LFs the stored message holds.

import { describe, expect, it } from "vitest";
import { dataOnWire } from "../../src/services/rspawn/dot-stuff.js";

const wire = (stored: string): string | undefined => dataOnWire(Buffer.from(stored, "latin1"))?.toString("latin1");

/** Every place the next hop would take as the end of data (CR LF . CR LF, or the start of the data). */
function endsOfData(data: string): number {
  return (`\r\n${data}`.match(/\r\n\.\r\n/g) ?? []).length;
}

describe("dataOnWire", () => {
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

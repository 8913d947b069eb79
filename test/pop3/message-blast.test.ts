// qmail-pop3d's blast() as MessageBlast does it, fed the same file in every possible split, so the
// byte-stuffing, the header/body boundary and TOP's count cannot depend on where a read ended.

import { describe, expect, it } from "vitest";
import { MessageBlast } from "../../src/services/pop3d/message-blast.js";

function blast(file: string, lines: number | undefined, split: number): string {
  const bytes = Buffer.from(file, "latin1");
  const converter = new MessageBlast(lines);
  let out = "";
  for (let at = 0; at < bytes.length && !converter.done; at += split) out += converter.push(bytes.subarray(at, at + split)).toString("latin1");
  return out + converter.finish().toString("latin1");
}

const FILE = "From: a\n.Hidden: b\n\n.\n..\nbody . line\n.\r\nlast";

describe("MessageBlast", () => {
  it.each([1, 2, 3, 7, 1000])("converts identically when read %i bytes at a time", (split) => {
    expect(blast(FILE, undefined, split)).toBe("From: a\r\n..Hidden: b\r\n\r\n..\r\n...\r\nbody . line\r\n..\r\r\nlast\r\n\r\n.\r\n");
    expect(blast(FILE, 0, split)).toBe("From: a\r\n..Hidden: b\r\n\r\n\r\n.\r\n");
    expect(blast(FILE, 2, split)).toBe("From: a\r\n..Hidden: b\r\n\r\n..\r\n...\r\n\r\n.\r\n");
    expect(blast(FILE, 99, split)).toBe(blast(FILE, undefined, split));
  });

  it("an empty file is the extra empty line and the end; a header without a body keeps TOP from reading on", () => {
    expect(blast("", undefined, 10)).toBe("\r\n.\r\n");
    expect(blast("Subject: x\n", 0, 10)).toBe("Subject: x\r\n\r\n.\r\n");
  });
});

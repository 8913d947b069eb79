// The netstring decoder and encoder, fed byte by byte and in one piece, with hostile input:
// every fault it must name, limits on digits and length, nested netstrings, and a large payload
// streamed through without being gathered.

import { describe, expect, it } from "vitest";
import { encodeNetstring, NetstringCollector, NetstringDecoder, NetstringError, netstringHeader, type NetstringEvent } from "../../src/net/netstring.js";

/** Feeds `input` in chunks of `size` bytes; returns the events, or the fault thrown. */
function decode(input: string | Buffer, size = Infinity, decoder = new NetstringDecoder()): { events: NetstringEvent[]; fault?: string } {
  const bytes = typeof input === "string" ? Buffer.from(input, "latin1") : input;
  const events: NetstringEvent[] = [];
  try {
    for (let at = 0; at < bytes.length; at += Math.min(size, bytes.length)) events.push(...decoder.push(bytes.subarray(at, at + Math.min(size, bytes.length))));
    decoder.finish();
    return { events };
  } catch (error) {
    if (!(error instanceof NetstringError)) throw error;
    return { events, fault: error.fault };
  }
}

const payloads = (events: NetstringEvent[]): string[] => {
  const out: string[] = [];
  let current = "";
  for (const event of events) {
    if (event.type === "data") current += Buffer.from(event.bytes).toString("latin1");
    if (event.type === "end") {
      out.push(current);
      current = "";
    }
  }
  return out;
};

describe("netstring encoder", () => {
  it("writes length, colon, bytes and comma; strings as UTF-8", () => {
    expect(encodeNetstring("hello world!").toString()).toBe("12:hello world!,");
    expect(encodeNetstring("").toString()).toBe("0:,");
    expect(encodeNetstring("é").toString("latin1")).toBe("2:\xc3\xa9,");
    expect(encodeNetstring(Buffer.from([0, 1, 2])).equals(Buffer.from("3:\x00\x01\x02,", "latin1"))).toBe(true);
    expect(netstringHeader(42).toString()).toBe("42:");
    expect(() => netstringHeader(-1)).toThrow(RangeError);
  });
});

describe("netstring decoder", () => {
  it("decodes a sequence whole and byte by byte, with the same payloads", () => {
    const input = "5:hello,0:,3:a,b,";
    for (const size of [1, 2, 3, 1000]) {
      const { events, fault } = decode(input, size);
      expect(fault).toBeUndefined();
      expect(payloads(events)).toEqual(["hello", "", "a,b"]);
      expect(events.filter((e) => e.type === "start").map((e) => (e as { length: number }).length)).toEqual([5, 0, 3]);
    }
  });

  it("round-trips what the encoder writes, including binary payloads", () => {
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const { events } = decode(Buffer.concat([encodeNetstring(binary), encodeNetstring("x")]), 7);
    expect(Buffer.from(payloads(events)[0]!, "latin1").equals(binary)).toBe(true);
  });

  it("accepts leading zeros, as qmail's getlen does, but counts them against the digit limit", () => {
    expect(payloads(decode("005:hello,").events)).toEqual(["hello"]);
    expect(decode(`${"0".repeat(12)}:,`).fault).toBeUndefined();
    expect(decode(`${"0".repeat(13)}:,`).fault).toBe("too-many-digits");
    expect(decode("0".repeat(100000)).fault).toBe("too-many-digits");
  });

  it("names each malformation", () => {
    expect(decode("5x:hello,").fault).toBe("non-digit");
    expect(decode("-1:,").fault).toBe("non-digit");
    expect(decode(" 5:hello,").fault).toBe("non-digit");
    expect(decode(":,").fault).toBe("non-digit");
    expect(decode("5:hello;").fault).toBe("missing-comma");
    expect(decode("5:hello").fault).toBe("truncated");
    expect(decode("5:hel").fault).toBe("truncated");
    expect(decode("12").fault).toBe("truncated");
    expect(decode("200000001:").fault).toBe("too-long");
    // The length passes the limit at the 10th digit, before there are too many of them.
    expect(decode("99999999999999999999:").fault).toBe("too-long");
  });

  it("stops at the first byte past the limit, without waiting for the colon", () => {
    const decoder = new NetstringDecoder({ maxLength: 100, maxDigits: 5 });
    expect(() => decoder.push(Buffer.from("101"))).toThrow(NetstringError);
    expect(decode("1000", 1, new NetstringDecoder({ maxLength: 999, maxDigits: 5 })).fault).toBe("too-long");
  });

  it("refuses all input after a fault: the stream is out of step for good", () => {
    const decoder = new NetstringDecoder();
    expect(() => decoder.push(Buffer.from("x"))).toThrow(NetstringError);
    expect(() => decoder.push(Buffer.from("1:a,"))).toThrow(NetstringError);
  });

  it("is idle only between netstrings", () => {
    const decoder = new NetstringDecoder();
    expect(decoder.idle).toBe(true);
    decoder.push(Buffer.from("3:a"));
    expect(decoder.idle).toBe(false);
    decoder.push(Buffer.from("bc,"));
    expect(decoder.idle).toBe(true);
  });

  it("streams a large payload as slices of the chunks it is fed, never gathered", () => {
    const decoder = new NetstringDecoder();
    const size = 50 * 1024 * 1024;
    decoder.push(netstringHeader(size));
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    let seen = 0;
    for (let i = 0; i < size / chunk.length; i++) {
      for (const event of decoder.push(chunk)) {
        if (event.type === "data") {
          expect(event.bytes.buffer).toBe(chunk.buffer);
          seen += event.bytes.length;
        }
      }
    }
    expect(seen).toBe(size);
    expect(decoder.push(Buffer.from(","))).toEqual([{ type: "end" }]);
  });

  it("decodes nested netstrings by feeding an outer payload to a second decoder", () => {
    const inner = Buffer.concat([encodeNetstring("alice@example.test"), encodeNetstring("bob@example.test")]);
    const outer = new NetstringDecoder();
    const nested = new NetstringDecoder();
    const addresses: string[] = [];
    for (const event of outer.push(encodeNetstring(inner))) {
      if (event.type === "data") addresses.push(...payloads(nested.push(event.bytes)));
      if (event.type === "end") nested.finish();
    }
    expect(addresses).toEqual(["alice@example.test", "bob@example.test"]);
    // An inner netstring cut off by the end of the outer one is truncated.
    const cut = new NetstringDecoder();
    cut.push(Buffer.from("5:ab"));
    expect(() => cut.finish()).toThrow(/truncated/);
  });
});

describe("netstring collector", () => {
  it("gathers whole small netstrings and refuses longer ones", () => {
    const collector = new NetstringCollector(10);
    expect(collector.push(Buffer.from("2:ok,3:K"))).toEqual([Buffer.from("ok")]);
    expect(collector.push(Buffer.from("ab,")).map(String)).toEqual(["Kab"]);
    expect(() => new NetstringCollector(10).push(Buffer.from("11:"))).toThrow(/too-long/);
  });
});

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tcprules } from "../../src/cli/commands/tcprules.js";
import { tcprulescheck } from "../../src/cli/commands/tcprulescheck.js";
import { Cdb, readCdb } from "../../src/config/cdb-reader.js";
import { buildCdb } from "../../src/config/cdb-writer.js";
import { compileRules } from "../../src/config/tcprules-compile.js";
import { matchRules } from "../../src/config/tcprules-lookup.js";
import { runCommand, tempDir, tool } from "./harness.js";

const IPV4_RULES = `# relay for the office
127.0.0.1:allow,RELAYCLIENT="",SMTPAUTH="-"
10.1.2.3:deny
10.1.2.:allow,DATABYTES="1000"
10.1.:allow,X=/a:b "quoted"/
10.:deny
192.168.0.10-20:allow,RANGE="yes"
172.16-17.:allow,CLASS="b"
=mx.example.com:allow,HOST="exact"
=.example.com:allow,HOST="suffix"
=.com:allow,HOST="tld"
joe@10.9.9.9:allow,WHO="joe-ip"
joe@=box.example.org:allow,WHO="joe-host"
=:allow,NAMED="1"
:deny
`;

const CONNECTIONS: Array<Record<string, string>> = [
  { TCPREMOTEIP: "127.0.0.1" },
  { TCPREMOTEIP: "10.1.2.3" },
  { TCPREMOTEIP: "10.1.2.4" },
  { TCPREMOTEIP: "10.1.3.4" },
  { TCPREMOTEIP: "10.2.0.1" },
  { TCPREMOTEIP: "192.168.0.9" },
  { TCPREMOTEIP: "192.168.0.10" },
  { TCPREMOTEIP: "192.168.0.20" },
  { TCPREMOTEIP: "192.168.0.21" },
  { TCPREMOTEIP: "172.17.5.5" },
  { TCPREMOTEIP: "172.18.5.5" },
  { TCPREMOTEIP: "8.8.8.8", TCPREMOTEHOST: "mx.example.com" },
  { TCPREMOTEIP: "8.8.8.8", TCPREMOTEHOST: "a.b.example.com" },
  { TCPREMOTEIP: "8.8.8.8", TCPREMOTEHOST: "other.com" },
  { TCPREMOTEIP: "8.8.8.8", TCPREMOTEHOST: "other.net" },
  { TCPREMOTEIP: "8.8.8.8", TCPREMOTEHOST: "" },
  { TCPREMOTEIP: "8.8.8.8" },
  { TCPREMOTEIP: "10.9.9.9", TCPREMOTEINFO: "joe" },
  { TCPREMOTEIP: "10.9.9.9", TCPREMOTEINFO: "ann" },
  { TCPREMOTEIP: "8.8.4.4", TCPREMOTEINFO: "joe", TCPREMOTEHOST: "box.example.org" },
  { TCPREMOTEIP: "10.1.2.3", TCPREMOTEHOST: "mx.example.com" },
  {},
];

describe("tcprules compile", () => {
  it("writes the same cdb as ucspi-tcp's tcprules", async () => {
    const dir = await tempDir();
    const theirs = tool("tcprules", [join(dir, "theirs.cdb"), join(dir, "theirs.tmp")], { input: IPV4_RULES });
    expect(theirs.code).toBe(0);
    const ours = await runCommand(tcprules, [join(dir, "ours.cdb"), join(dir, "ours.tmp")], { stdin: IPV4_RULES });
    expect(ours.code).toBe(0);
    expect((await readFile(join(dir, "ours.cdb"))).equals(await readFile(join(dir, "theirs.cdb")))).toBe(true);
  });

  it("gives the same answers as ucspi-tcp's tcprulescheck, on either tool's cdb", async () => {
    const dir = await tempDir();
    tool("tcprules", [join(dir, "theirs.cdb"), join(dir, "theirs.tmp")], { input: IPV4_RULES });
    await runCommand(tcprules, [join(dir, "ours.cdb"), join(dir, "ours.tmp")], { stdin: IPV4_RULES });
    for (const env of CONNECTIONS) {
      const expected = tool("tcprulescheck", [join(dir, "theirs.cdb")], { env });
      expect(expected.code).toBe(0);
      for (const cdb of ["theirs.cdb", "ours.cdb"]) {
        const got = await runCommand(tcprulescheck, [join(dir, cdb)], { env });
        expect({ env, out: got.stdout }).toEqual({ env, out: expected.stdout });
      }
    }
  });

  it("reports no matching rule as the default, like tcprulescheck", async () => {
    const dir = await tempDir();
    const rules = "1.2.3.4:deny\n";
    tool("tcprules", [join(dir, "r.cdb"), join(dir, "r.tmp")], { input: rules });
    const env = { TCPREMOTEIP: "5.6.7.8" };
    const expected = tool("tcprulescheck", [join(dir, "r.cdb")], { env }).stdout;
    expect(expected).toBe("default:\nallow connection\n");
    expect((await runCommand(tcprulescheck, [join(dir, "r.cdb")], { env })).stdout).toBe(expected);
    const missing = await runCommand(tcprulescheck, [join(dir, "none.cdb")], { env });
    expect(missing.code).toBe(111);
    expect(missing.stderr).toContain("unable to read");
  });
});

describe("IPv6 and CIDR rules (ucspi-tcp6 key forms)", () => {
  const rules = (text: string) => Cdb.fromBuffer(buildCdb(compileRules(Buffer.from(text), "rules")));

  it("stores IPv6 addresses expanded, upper-case, as ucspi-tcp6 does", () => {
    const records = compileRules(Buffer.from("2001:db8::1:allow,A=\"1\"\njoe@::1:deny\n"), "rules");
    expect(records.map(([key]) => String(key))).toEqual(["2001:0DB8:0000:0000:0000:0000:0000:0001", "joe@0000:0000:0000:0000:0000:0000:0000:0001"]);
  });

  it("matches IPv6 exact, CIDR longest first, and the default", () => {
    const cdb = rules(`2001:db8::1:allow,R="exact"
2001:db8::/32:allow,R="32"
2001:db8:1::/48:deny
::/1:allow,R="half"
:deny
`);
    expect(matchRules(cdb, { ip: "2001:db8::1" })).toEqual({ allow: true, env: [["R", "exact"]], rule: "2001:0DB8:0000:0000:0000:0000:0000:0001" });
    expect(matchRules(cdb, { ip: "2001:0db8:0:0::2" })).toEqual({ allow: true, env: [["R", "32"]], rule: "2001:db8::/32" });
    expect(matchRules(cdb, { ip: "2001:db8:1:ffff::9" })).toEqual({ allow: false, env: [], rule: "2001:db8:1::/48" });
    expect(matchRules(cdb, { ip: "7fff::1" })).toEqual({ allow: true, env: [["R", "half"]], rule: "::/1" });
    expect(matchRules(cdb, { ip: "8000::1" })).toEqual({ allow: false, env: [], rule: "" });
  });

  it("matches IPv4 CIDR after dotted prefixes, and v4-mapped clients as IPv4", () => {
    const cdb = rules(`10.0.0.0/8:allow,R="8"
10.128.0.0/9:allow,R="9"
10.200.:allow,R="dotted"
:deny
`);
    expect(matchRules(cdb, { ip: "10.1.2.3" }).env).toEqual([["R", "8"]]);
    expect(matchRules(cdb, { ip: "10.130.2.3" })).toEqual({ allow: true, env: [["R", "9"]], rule: "10.128.0.0/9" });
    expect(matchRules(cdb, { ip: "10.200.2.3" }).env).toEqual([["R", "dotted"]]);
    expect(matchRules(cdb, { ip: "::ffff:10.130.0.1" }).env).toEqual([["R", "9"]]);
    expect(matchRules(cdb, { ip: "11.0.0.1" }).allow).toBe(false);
  });

  it("writes CIDR keys in ucspi-tcp6's bit-string encoding", () => {
    const records = compileRules(Buffer.from("192.168.0.0/16:allow\n8000::/3:allow\n"), "rules") as Array<[Buffer, Buffer]>;
    const v4key = records[0]![0];
    const v6key = records[1]![0];
    // 192 = 11000000, 168 = 10101000: set bits show the letter of their position.
    expect(String(v4key)).toBe("_ab000000i0k0m000");
    // 8000:: /3 = 100: the first set bit is byte 96.
    expect([...v6key]).toEqual([0x5e, 96, 0x30, 0x30]);
  });
});

describe("bad rules", () => {
  const cases: Array<[string, string]> = [
    ["1.2.3.4:allow\nno colon here\n", "stdin:2: expected ADDRESS:allow or ADDRESS:deny"],
    ["1.2.3.4:bogus\n", "stdin:1: expected ADDRESS:allow or ADDRESS:deny"],
    ["1.2.3.4:allowx\n", 'stdin:1: expected "," before "x"'],
    ['1.2.3.4:allow,A="1\n', "stdin:1: unterminated value for A"],
    ["1.2.3.4:allow,=x\n", "stdin:1: empty variable name"],
    ["1.2.3.4:allow,FOO\n", "stdin:1: expected VAR=\"value\""],
    ["1.2.3.04:allow\n", 'stdin:1: not an IPv4 address or prefix: "1.2.3.04"'],
    ["a.b.c.d:allow\n", "stdin:1: not an IPv4 address or prefix"],
    ["1.2.3.4-:allow\n", 'stdin:1: bad range bound ""'],
    ["1.2.300-302.:allow\n", 'stdin:1: bad range bound "300"'],
    ["1.2.3.9-5:allow\n", "stdin:1: empty range 9-5"],
    ["2001:db8::g:allow\n", "stdin:1: not an IPv6 address"],
    ["10.0.0.0/33:allow\n", "stdin:1: invalid IPv4 prefix length /33"],
    ["::/0:allow\n", "stdin:1: invalid IPv6 prefix length /0"],
    ["joe@1.2.3.:allow\n", "stdin:1: not an IP address after @"],
  ];
  it.each(cases)("%j → %s", async (input, message) => {
    const dir = await tempDir();
    const result = await runCommand(tcprules, [join(dir, "r.cdb"), join(dir, "r.tmp")], { stdin: input });
    expect(result.code).toBe(100);
    expect(result.stderr).toContain(`tsqmail tcprules: fatal: ${message}`);
    await expect(readCdb(join(dir, "r.cdb"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("accepts CRLF lines, comments and blank lines", () => {
    const records = compileRules(Buffer.from("# c\r\n\r\n1.2.3.4:deny\r\n"), "rules");
    expect(records.map(([k, v]) => [String(k), String(v)])).toEqual([["1.2.3.4", "D\0"]]);
  });
});

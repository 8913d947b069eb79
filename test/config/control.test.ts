import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { newmrh } from "../../src/cli/commands/newmrh.js";
import { showctl } from "../../src/cli/commands/showctl.js";
import { ConfigError } from "../../src/config/config-error.js";
import { CONTROL_NAMES } from "../../src/config/control-registry.js";
import { loadControl } from "../../src/config/load-control.js";
import { rcptHostAllowed } from "../../src/config/rcpthosts.js";
import { recipientInCdb, recipientSource, parseRecipients } from "../../src/config/recipients.js";
import { Cdb } from "../../src/config/cdb-reader.js";
import { buildCdb } from "../../src/config/cdb-writer.js";
import { configLines } from "../../src/config/config-lines.js";
import { runCommand, tempDir } from "./harness.js";

async function root(files: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, "control"));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, "control", name), text);
  return dir;
}

describe("loadControl", () => {
  it("gives qmail's defaults, including the me chain", async () => {
    const ctl = await loadControl(await root({ me: "mail.example.com\n" }));
    expect(ctl.values.me).toBe("mail.example.com");
    expect(ctl.values.locals).toEqual(["mail.example.com"]);
    expect(ctl.values.bouncehost).toBe("mail.example.com");
    expect(ctl.values.bouncefrom).toBe("MAILER-DAEMON");
    expect(ctl.values.doublebounceto).toBe("postmaster");
    expect(ctl.values.concurrencyremote).toBe(20);
    expect(ctl.values.concurrencylocal).toBe(10);
    expect(ctl.values.queuelifetime).toBe(604800);
    expect(ctl.values.timeoutsmtpd).toBe(1200);
    expect(ctl.values.databytes).toBe(0);
    expect(ctl.values.smtproutes.size).toBe(0);
    expect(ctl.values["morercpthosts.cdb"]).toBeUndefined();
    expect(ctl.defaulted.has("locals")).toBe(true);
    expect(ctl.defaulted.has("me")).toBe(false);
  });

  it("falls back to the literal names when me is missing too", async () => {
    const ctl = await loadControl(await root());
    expect(ctl.values.me).toBeUndefined();
    expect(ctl.values.envnoathost).toBe("envnoathost");
    expect(ctl.values.doublebouncehost).toBe("doublebouncehost");
    expect(ctl.values.smtpgreeting).toBeUndefined();
    expect(ctl.values.locals).toEqual([]);
    expect(ctl.defaulted.size).toBe(CONTROL_NAMES.length);
  });

  it("parses as qmail does: first line, comments, trailing space, CRLF, constmap", async () => {
    const ctl = await loadControl(
      await root({
        me: "host.example \t\r\n",
        locals: "# mine\r\nhost.example\r\n\r\nOther.Example  \n",
        concurrencyremote: "55\r\n",
        smtproutes: "example.net:relay.example.net:2525\nEXAMPLE.NET:second\n:default.relay\n",
      }),
    );
    expect(ctl.values.me).toBe("host.example");
    expect(ctl.values.locals).toEqual(["host.example", "Other.Example"]);
    expect(ctl.values.concurrencyremote).toBe(55);
    // Split at the first colon; keys case-insensitive; the later line wins.
    expect(ctl.values.smtproutes.get("Example.Net")).toBe("second");
    expect(ctl.values.smtproutes.get("")).toBe("default.relay");
  });

  it("picks up a changed locals on reload", async () => {
    const dir = await root({ me: "a.example\n", locals: "a.example\n" });
    expect((await loadControl(dir)).values.locals).toEqual(["a.example"]);
    await writeFile(join(dir, "control", "locals"), "a.example\nb.example\n");
    expect((await loadControl(dir)).values.locals).toEqual(["a.example", "b.example"]);
  });

  const broken: Array<[string, string, string]> = [
    ["concurrencyremote", "abc\n", 'control/concurrencyremote:1: not a number: "abc"'],
    ["databytes", "12k\n", 'control/databytes:1: not a number: "12k"'],
    ["queuelifetime", "99999999999999999999\n", "control/queuelifetime:1: number too large"],
    ["me", "\n", "control/me:1: empty first line"],
    ["smtpgreeting", "hello\n\nsecond\n", "control/smtpgreeting:3: only the first line of this file is read"],
    ["rcpthosts", "ok.example\nbad example\n", 'control/rcpthosts:2: unexpected whitespace in "bad example"'],
    ["locals", " leading.example\n", "control/locals:1: unexpected whitespace"],
    ["virtualdomains", "ok.example:ok\n#c\nnocolon.example\n", 'control/virtualdomains:3: no colon in "nocolon.example"'],
    ["badmailfrom", "a@b\n\xff\n", "control/badmailfrom:2: not valid UTF-8"],
    ["recipients", "example.com\n", "control/recipients:1: expected domain:file.cdb or domain|program"],
    ["morercpthosts.cdb", "short", "control/morercpthosts.cdb: cdb too short"],
  ];
  it.each(broken)("refuses a bad %s with file and line", async (name, text, message) => {
    const dir = await root();
    await writeFile(join(dir, "control", name), Buffer.from(text, "latin1"));
    const error = await loadControl(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(message);
  });
});

describe("rcpthosts (fail closed)", () => {
  it("accepts only locals when rcpthosts is missing", async () => {
    const ctl = await loadControl(await root({ me: "me.example\n", locals: "me.example\nlocal.example\n" }));
    expect(rcptHostAllowed(ctl, "u@local.example")).toBe(true);
    expect(rcptHostAllowed(ctl, "u@ME.example")).toBe(true);
    expect(rcptHostAllowed(ctl, "u@elsewhere.example")).toBe(false);
    expect(rcptHostAllowed(ctl, "postmaster")).toBe(true);
  });

  it("uses rcpthosts suffixes and morercpthosts.cdb when present", async () => {
    const dir = await root({ rcpthosts: "exact.example\n.sub.example\n", morercpthosts: "More.Example\n" });
    expect((await runCommand(newmrh, ["--root", dir])).code).toBe(0);
    const ctl = await loadControl(dir);
    expect(rcptHostAllowed(ctl, "u@exact.example")).toBe(true);
    expect(rcptHostAllowed(ctl, "u@a.exact.example")).toBe(false);
    expect(rcptHostAllowed(ctl, "u@x.y.sub.example")).toBe(true);
    expect(rcptHostAllowed(ctl, "u@more.example")).toBe(true);
    expect(rcptHostAllowed(ctl, "u@other.example")).toBe(false);
  });

  it("newmrh names a bad line", async () => {
    const dir = await root({ morercpthosts: "ok.example\nnot ok\n" });
    const result = await runCommand(newmrh, ["--root", dir]);
    expect(result.code).toBe(100);
    expect(result.stderr).toBe('tsqmail newmrh: fatal: control/morercpthosts:2: unexpected whitespace in "not ok"\n');
  });
});

describe("control/recipients", () => {
  const sources = parseRecipients(
    configLines(Buffer.from("example.com:users/recipients.cdb\n@exact.org:users/exact.cdb\nchecked.net|/usr/bin/checker -v\n"), "control/recipients"),
  );
  it("chooses the most specific source", () => {
    expect(recipientSource(sources, "mail.example.com")).toMatchObject({ kind: "cdb", cdb: "users/recipients.cdb" });
    expect(recipientSource(sources, "exact.org")).toMatchObject({ kind: "cdb", cdb: "users/exact.cdb", exact: true });
    expect(recipientSource(sources, "sub.exact.org")).toBeUndefined();
    expect(recipientSource(sources, "Checked.Net")).toMatchObject({ kind: "checker", command: "/usr/bin/checker -v" });
  });
  it("accepts exact addresses and VERP prefixes from a cdb", () => {
    const cdb = Cdb.fromBuffer(buildCdb([["joe@example.com", ""], ["list-@example.com", ""]]));
    expect(recipientInCdb(cdb, "Joe@Example.com")).toBe(true);
    expect(recipientInCdb(cdb, "list-bounce-x=y@example.com")).toBe(true);
    expect(recipientInCdb(cdb, "ann@example.com")).toBe(false);
    expect(recipientInCdb(cdb, "list@example.com")).toBe(false);
  });
});

describe("showctl", () => {
  it("shows a fresh root: every file, all defaults", async () => {
    const dir = await root({ me: "fresh.example\n" });
    const result = await runCommand(showctl, ["--root", dir]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe(`control directory: ${join(dir, "control")}`);
    expect(lines).toContain("me: fresh.example");
    expect(lines).toContain("concurrencyremote: 20 (default)");
    expect(lines).toContain("bouncehost: fresh.example (default)");
    expect(lines).toContain("locals: (default)");
    expect(lines).toContain("  fresh.example");
    expect(lines).toContain("rcpthosts: (missing: accepting only locals)");
    expect(lines).toContain("smtproutes: (empty) (default)");
    expect(lines).toContain("morercpthosts.cdb: (none) (default)");
    expect(lines).toContain("smtpgreeting: fresh.example (default)");
    for (const name of CONTROL_NAMES) expect(lines.some((line) => line.startsWith(`${name}:`))).toBe(true);
  });

  it("shows a customised root, errors and unknown files", async () => {
    const dir = await root({
      me: "c.example\n",
      concurrencyremote: "abc\n",
      rcpthosts: "c.example\n",
      smtproutes: "x.example:relay.example\n",
      databytes: "1000000\n",
      mystery: "?\n",
    });
    const result = await runCommand(showctl, ["--root", dir]);
    expect(result.code).toBe(100);
    const lines = result.stdout.split("\n");
    expect(lines).toContain('concurrencyremote: ERROR control/concurrencyremote:1: not a number: "abc" (using the default)');
    expect(lines).toContain("databytes: 1000000");
    expect(lines).toContain("rcpthosts:");
    expect(lines).toContain("  c.example");
    expect(lines).toContain("smtproutes:");
    expect(lines).toContain("  x.example:relay.example");
    expect(lines).toContain("mystery: not read by tsqmail");
  });
});

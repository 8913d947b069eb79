import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { createServiceLog, readLogSettings } from "../../src/log/log-settings.js";
import { createStdoutLog } from "../../src/log/stdout-writer.js";
import { tempDirPerTest } from "../daemontools/debian-tools.js";

describe("service log settings", () => {
  const tempRoot = tempDirPerTest("log-settings");
  let root = "";
  beforeEach(() => {
    root = tempRoot();
    mkdirSync(join(root, "service", "smtpd", "log"), { recursive: true });
  });

  const setting = (file: string, text: string) => writeFileSync(join(root, "service", "smtpd", "log", file), text);
  const collect = () => {
    const written: string[] = [];
    return { written, sink: { write: (text: string) => written.push(text) } };
  };

  it("uses multilog's defaults when nothing is set", () => {
    expect(readLogSettings(root, "smtpd")).toEqual({ maxSize: 99_999, keep: 10, toStdout: false });
  });

  it("reads maxsize and keep, clamped to multilog's bounds", () => {
    setting("maxsize", "500000\n");
    setting("keep", " 4 \n");
    expect(readLogSettings(root, "smtpd")).toMatchObject({ maxSize: 500_000, keep: 4 });
    setting("maxsize", "12");
    setting("keep", "1");
    expect(readLogSettings(root, "smtpd")).toMatchObject({ maxSize: 4096, keep: 2 });
    setting("maxsize", "99999999");
    expect(readLogSettings(root, "smtpd").maxSize).toBe(16_777_215);
  });

  it("names the file and the text of a malformed value", () => {
    setting("maxsize", "x\n");
    expect(() => readLogSettings(root, "smtpd")).toThrow('service/smtpd/log/maxsize: not a number: "x"');
    setting("maxsize", "100000");
    setting("keep", "-3");
    expect(() => readLogSettings(root, "smtpd")).toThrow('service/smtpd/log/keep: not a number: "-3"');
  });

  it("writes to ROOT/log/NAME/ unless a stdout file says otherwise", () => {
    const { written, sink } = collect();
    const log = createServiceLog(root, "smtpd", sink);
    log.append(["hello"]);
    log.close();
    expect(readFileSync(join(root, "log", "smtpd", "current"), "utf8")).toMatch(/^@[0-9a-f]{24} hello\n$/);
    expect(written).toEqual([]);
  });

  it("sends lines to the stream, prefixed with the service name, when service/NAME/log/stdout exists", () => {
    setting("stdout", "");
    const { written, sink } = collect();
    const log = createServiceLog(root, "smtpd", sink);
    log.append(["hello", "two\nlines"]);
    log.close();
    expect(written.join("")).toBe("smtpd: hello\nsmtpd: two\nsmtpd: lines\n");
  });

  it("writes nothing for an empty batch", () => {
    const { written, sink } = collect();
    createStdoutLog("send", sink).append([]);
    expect(written).toEqual([]);
  });
});

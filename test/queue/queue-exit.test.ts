import { describe, expect, it } from "vitest";
import { QueueExit, queueExitText, queueFailure } from "../../src/queue/queue-exit.js";

describe("qmail-queue exit texts (qmail.c qmail_close)", () => {
  const table: [number | "crashed", string][] = [
    [11, "Denvelope address too long for qq (#5.1.3)"],
    [115, "Denvelope address too long for qq (#5.1.3)"],
    [31, "Dmail server permanently rejected message (#5.3.0)"],
    [51, "Zqq out of memory (#4.3.0)"],
    [52, "Zqq timeout (#4.3.0)"],
    [53, "Zqq write error or disk full (#4.3.0)"],
    [54, "Zqq read error (#4.3.0)"],
    [55, "Zqq unable to read configuration (#4.3.0)"],
    [56, "Zqq trouble making network connection (#4.3.0)"],
    [61, "Zqq trouble in home directory (#4.3.0)"],
    [62, "Zqq trouble creating files in queue (#4.3.0)"],
    [63, "Zqq trouble creating files in queue (#4.3.0)"],
    [64, "Zqq trouble creating files in queue (#4.3.0)"],
    [65, "Zqq trouble creating files in queue (#4.3.0)"],
    [66, "Zqq trouble creating files in queue (#4.3.0)"],
    [71, "Zmail server temporarily rejected message (#4.3.0)"],
    [72, "Zconnection to mail server timed out (#4.4.1)"],
    [73, "Zconnection to mail server rejected (#4.4.1)"],
    [74, "Zcommunication with mail server failed (#4.4.2)"],
    [81, "Zqq internal bug (#4.3.0)"],
    [91, "Zqq internal bug (#4.3.0)"],
    [120, "Zunable to exec qq (#4.3.0)"],
    ["crashed", "Zqq crashed (#4.3.0)"],
    [12, "Dqq permanent problem (#5.3.0)"],
    [40, "Dqq permanent problem (#5.3.0)"],
    [10, "Zqq temporary problem (#4.3.0)"],
    [41, "Zqq temporary problem (#4.3.0)"],
    [82, "Zqq temporary problem (#4.3.0)"],
    [100, "Zqq temporary problem (#4.3.0)"],
  ];
  it.each(table)("%s → %s", (exit, text) => {
    expect(queueExitText(exit)).toBe(text);
  });

  it("names every code the table maps", () => {
    expect(QueueExit.todoLink).toBe(66);
    expect(queueFailure(QueueExit.messFile)).toEqual({ ok: false, exit: 64, text: "Zqq trouble creating files in queue (#4.3.0)" });
    expect(queueFailure(82, "Dno thanks")).toEqual({ ok: false, exit: 82, text: "Dno thanks" });
  });
});

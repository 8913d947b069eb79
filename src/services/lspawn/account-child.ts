// The per-account child process (qmail-local running as the user): started by run-as-account.ts
// with the account's uid and gid, it reads one request — a JSON line, then the message to end of
// input — does either the account's half of preparing (its .qmail files, read as the account) or
// one file/program line, and writes one JSON line: {"ok": value} or {"failure": {status, text}}.
// Because the kernel checks every open, write and exec against the account's ids, a .qmail file,
// a symlink or a program can reach only what that account could reach anyway.

import { failureOf, type LineInput } from "../../../machines/local-delivery.js";
import { deliverLine } from "./line-delivery.js";
import { DotQmailFiles } from "./dot-qmail.js";
import { prepareForAccount, type AccountRequest } from "./prepare.js";

export type AccountChildRequest =
  | { readonly op: "prepare"; readonly request: AccountRequest }
  | { readonly op: "line"; readonly line: Omit<LineInput, "input">; readonly timeoutMs: number };

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const all = Buffer.concat(chunks);
  const newline = all.indexOf(0x0a);
  const request = JSON.parse(all.subarray(0, newline).toString("utf8")) as AccountChildRequest;
  const message = all.subarray(newline + 1);
  try {
    const value =
      request.op === "prepare"
        ? await prepareForAccount(request.request, message, true, new DotQmailFiles())
        : await deliverLine(request.line, message, { baseEnv: process.env, timeoutMs: request.timeoutMs });
    process.stdout.write(`${JSON.stringify({ ok: value })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ failure: failureOf(error) })}\n`);
  }
}

await main();

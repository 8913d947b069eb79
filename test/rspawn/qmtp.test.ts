// QMTP delivery in real workers: a qmtproutes destination gets one package — the message as
// stored (LF convention byte first, no dot-stuffing), the sender, every recipient of the batch —
// and each recipient's result comes from its own reply netstring. A connection that drops after
// the package is "Possible duplicate!".

import { afterEach, describe, expect, it } from "vitest";
import { inject } from "../send/send-root.js";
import { startQmtpPeer, type QmtpPeer } from "./qmtp-peer.js";
import { rspawnBed } from "./rspawn-root.js";

const rspawn = rspawnBed();
let peer: QmtpPeer | undefined;

afterEach(async () => {
  await peer?.close();
  peer = undefined;
});

describe("rspawn over QMTP", () => {
  it("qmtproutes: one package for the batch, the message as stored; K and D per recipient", async () => {
    peer = await startQmtpPeer({ refuse: (address) => address.startsWith("no") });
    const queueDir = await rspawn.start("", {}, { qmtproutes: `remote.test:127.0.0.1;${peer.port}` });
    await inject(queueDir, "sender@here.test", ["yes@remote.test", "nobody@remote.test"], "Subject: q\n\n.dot stays\nbare\rcr\n");
    expect(await rspawn.deliveryLines("success")).toEqual(["127.0.0.1_accepted_message./Remote_host_said:_ok_1700000000_qp_1/"]);
    expect(await rspawn.deliveryLines("failure")).toEqual(["127.0.0.1_does_not_like_recipient./Remote_host_said:_sorry,_no_mailbox_here_by_that_name_(#5.1.1)/"]);
    expect(peer.packages).toHaveLength(1);
    const [pkg] = peer.packages;
    expect(pkg!.sender).toBe("sender@here.test");
    expect([...pkg!.recipients].sort()).toEqual(["nobody@remote.test", "yes@remote.test"]);
    expect(pkg!.message[0]).toBe(0x0a);
    expect(pkg!.message.toString("latin1")).toMatch(/^\nReceived: [^]*\nSubject: q\n\n\.dot stays\nbare\rcr\n$/);
  }, 60_000);

  it("a connection that drops after the package: Z 'Possible duplicate!'", async () => {
    peer = await startQmtpPeer({ dropAfterPackage: true });
    const queueDir = await rspawn.start("", {}, { qmtproutes: `remote.test:127.0.0.1;${peer.port}` });
    await inject(queueDir, "sender@here.test", ["x@remote.test"]);
    expect(await rspawn.deliveryLines("deferral")).toEqual(["Connected_to_127.0.0.1_but_connection_died._Possible_duplicate!_(#4.4.2)/"]);
  }, 60_000);
});

// qmqpd: qmail-qmqpd on port 628 under tcpserver — QMQP from trusted null clients, for the
// addresses its connection rules allow (loopback only when it has none). Everything is in
// ../qmtpd/netstring-service.ts.

import type { StartService } from "../../../supervisors/service-module.js";
import { startNetstringService } from "../qmtpd/netstring-service.js";

const start: StartService = (context) => startNetstringService(context, "qmqpd");
export default start;

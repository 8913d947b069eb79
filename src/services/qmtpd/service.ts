// qmtpd: qmail-qmtpd on port 209 under tcpserver — QMTP from other mail servers, relaying only
// for RELAYCLIENT. Everything is in netstring-service.ts.

import type { StartService } from "../../../supervisors/service-module.js";
import { startNetstringService } from "./netstring-service.js";

const start: StartService = (context) => startNetstringService(context, "qmtpd");
export default start;

// qmtps: s/qmail's qmail-qmtpd on port 6209 under sslserver — the TLS handshake first, with
// control/servercert.pem, then QMTP inside it. Everything is in ../qmtpd/netstring-service.ts.

import type { StartService } from "../../../supervisors/service-module.js";
import { startNetstringService } from "../qmtpd/netstring-service.js";

const start: StartService = (context) => startNetstringService(context, "qmtps");
export default start;

// pop3s: qmail-popup + qmail-pop3d on port 995 under sslserver (RFC 8314 implicit TLS): the TLS
// handshake comes first, with control/servercert.pem; the POP3 session then runs inside it.

import type { StartService } from "../../../supervisors/service-module.js";
import { startPop3Service } from "../pop3d/pop3-service.js";

const start: StartService = (context) => startPop3Service(context, "pop3s");
export default start;

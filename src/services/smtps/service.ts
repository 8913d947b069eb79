// smtps: qmail-smtpd on port 465 under sslserver (RFC 8314 implicit TLS): the TLS handshake comes
// first, with control/servercert.pem; the SMTP session then runs inside it.

import type { StartService } from "../../../supervisors/service-module.js";
import { startSmtpService } from "../smtpd/smtp-service.js";

const start: StartService = (context) => startSmtpService(context, "smtps");
export default start;

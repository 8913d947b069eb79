// smtpd: qmail-smtpd on port 25 under tcpserver — mail from the Internet, relaying only for
// RELAYCLIENT and authenticated clients. Everything is in smtp-service.ts.

import type { StartService } from "../../../supervisors/service-module.js";
import { startSmtpService } from "./smtp-service.js";

const start: StartService = (context) => startSmtpService(context, "smtpd");
export default start;

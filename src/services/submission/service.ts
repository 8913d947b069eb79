// submission: qmail-smtpd on port 587 for the users' own mail programs (RFC 6409): STARTTLS and
// AUTH are required unless service/submission/env/ says otherwise (UCSPITLS, SMTPAUTH).

import type { StartService } from "../../../supervisors/service-module.js";
import { startSmtpService } from "../smtpd/smtp-service.js";

const start: StartService = (context) => startSmtpService(context, "submission");
export default start;

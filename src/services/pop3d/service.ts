// pop3d: qmail-popup + qmail-pop3d on port 110 under tcpserver — mail pick-up from Maildirs,
// with STLS when a certificate exists. Everything is in pop3-service.ts.

import type { StartService } from "../../../supervisors/service-module.js";
import { startPop3Service } from "./pop3-service.js";

const start: StartService = (context) => startPop3Service(context, "pop3d");
export default start;

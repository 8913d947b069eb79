// The two ways a local delivery step fails, as values the local-delivery machine understands:
// soft (Z, qmail-local exit 111: try again later) and hard (D, exit 100: bounce).

import type { DeliveryFailure } from "../../../machines/local-delivery.js";

export const soft = (text: string): DeliveryFailure => ({ status: "Z", text });
export const hard = (text: string): DeliveryFailure => ({ status: "D", text });

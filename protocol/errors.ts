// Typed errors for everything a peer can get wrong on the wire. Each carries a stable code a
// program can switch on and a message that says what was wrong and what to do.

export type ProtocolErrorCode =
  | "malformed_cbor"
  | "oversized"
  | "bad_topic"
  | "bad_senml"
  | "bad_message"
  | "trailing_bytes"
  | "ble_bad_chunk"
  | "ble_out_of_order"
  | "ble_timeout";

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
  }
}

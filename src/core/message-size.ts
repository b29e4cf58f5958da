/**
 * The size of a message as the SMTP client puts it on the wire, before dot-stuffing.
 *
 * Decides: the byte count after line-ending normalization (every bare CR and every bare LF becomes
 * CRLF, as the engine's body writer does): the size that SIZE= announces and that
 * messageSizeLimit and a server's SIZE limit are checked against.
 * Never: reads or rewrites the message.
 */

/** Size after bare CR and bare LF become CRLF. */
export function normalizedSize(body: Uint8Array): number {
  let size = 0;
  for (let i = 0; i < body.length; i++) {
    const b = body[i];
    if (b === 13) {
      size += 2;
      if (body[i + 1] === 10) i++;
    } else if (b === 10) {
      size += 2;
    } else {
      size++;
    }
  }
  return size;
}

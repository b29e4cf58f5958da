/**
 * Public surface of the SMTP/LMTP protocol engine.
 *
 * Decides: what other layers may import from src/smtp.
 * Never: holds logic.
 */
export { encodeBodySync } from './body-writer.ts';
export { parseEhloReply } from './capabilities.ts';
export { SmtpInputError } from './commands.ts';
export { createSmtpConnector, type SmtpConnectorDeps } from './connector.ts';
export { createReplyParser } from './reply-parser.ts';
export { type DetachableSession, isDetachable, resumeSession } from './session.ts';

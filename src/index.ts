/**
 * The mxq package: what application code imports.
 *
 * Decides: the public surface (the enqueue API, its types, options, one-shot delivery).
 * Never: starts anything on import.
 */
export type { DeliveryOptionsInput, ResolvedOptions } from './core/options.ts';
export { DEFAULT_OPTIONS, resolveOptions } from './core/options.ts';
export type {
  AttemptRequest,
  AttemptResult,
  DsnNotify,
  Recipient,
  RecipientResult,
  RecipientStatus,
} from './core/types.ts';
export type {
  MxqMessageOptions,
  MxqSentMessageInfo,
  MxqTransporter,
  MxqTransportOptions,
} from './nodemailer/transport.ts';
export { mxqTransport } from './nodemailer/transport.ts';
export type {
  DeliveryEvent,
  DeliveryJobData,
  MessageMeta,
  RecipientJournalEntry,
} from './queue/job-schema.ts';
export { queueKeys } from './queue/keys.ts';
export type { MailQueue, MailQueueOptions, QueueEntry, RemoveReport, SendInput } from './queue/mail-queue.ts';
export {
  createMailQueue,
  MailQueueInputError,
  MailQueueUnavailableError,
  NoSuchMessageError,
  OutcomeTimeoutError,
} from './queue/mail-queue.ts';
export { verifyWebhookSignature } from './webhooks/signature.ts';
export type { DeliveryAgent } from './workers/agent.ts';
export { createDeliveryAgent } from './workers/agent.ts';

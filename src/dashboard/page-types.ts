/**
 * The shape of a dashboard page (pluggable: other areas pass more pages to the dashboard).
 *
 * Decides: what a page gets (read access to Redis, the BullMQ queue, key names, route params).
 * Never: anything at run time (types only).
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../queue/keys.ts';
import type { Raw } from './html.ts';

export interface PageContext {
  redis: Redis;
  queue: Queue;
  keys: QueueKeys;
  /** The installation prefix (keys of other areas live under it). */
  prefix: string;
  params: Record<string, string>;
  query: Record<string, string>;
}

export interface DashboardPage {
  /** Hono route, e.g. "/destinations" or "/messages/:queueId". */
  path: string;
  title: string;
  /** Shown in the navigation bar. */
  nav: boolean;
  render(ctx: PageContext): Promise<{ title: string; body: Raw } | undefined>;
}

/**
 * Per-client rate limits and single-use ids, strongly consistent through the
 * ClientLimiter Durable Object (DESIGN §7). `slidingWindow` is the pure algorithm.
 */
export { ClientLimiter } from './limiter.js';
export { limiterClient } from './client.js';
export type { ClientLimiterClient, TakeResult } from './ports.js';
export { slidingWindow, type WindowState, type WindowVerdict } from './window.js';
export { memoryLimiter } from './memory.js';

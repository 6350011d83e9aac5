/**
 * The guard's answers to the client: RFC 9457 problem documents that say only
 * that the assertion was refused (or that the guard/upstream is unavailable),
 * plus a request id. The precise reason goes to the log, never here.
 */
import type { Random } from '../platform/index.js';
import { refusalStatus, type GuardRefusal } from './reasons.js';

/** Problem types the guard answers with. */
export const PROBLEM_TYPES = {
  refused: 'https://tollgate.dev/problems/assertion-refused',
  unavailable: 'https://tollgate.dev/problems/service-unavailable',
  upstream: 'https://tollgate.dev/problems/upstream-unreachable',
  internal: 'https://tollgate.dev/problems/internal',
} as const;

/** A response the guard builds, independent of the runtime. */
export interface GuardResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The request id header (DESIGN §2). */
export const REQUEST_ID_HEADER = 'Tollgate-Request-Id';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The request id to answer and log with: the incoming `Tollgate-Request-Id`
 * when it is a plain token (it is only used for correlation, never trusted),
 * otherwise a fresh random one.
 */
export function requestIdOf(incoming: string | readonly string[] | null | undefined, random: Random): string {
  const value = typeof incoming === 'string' ? incoming.trim() : undefined;
  return value !== undefined && REQUEST_ID.test(value) ? value : random.id(16);
}

function problem(status: number, type: string, title: string, requestId: string, extra: Record<string, string> = {}): GuardResponse {
  return {
    status,
    headers: {
      'Content-Type': 'application/problem+json',
      'Cache-Control': 'no-store',
      [REQUEST_ID_HEADER]: requestId,
      ...extra,
    },
    body: JSON.stringify({ type, title, status, request_id: requestId }),
  };
}

/** The response for a refused request: 401 (or 503 when the replay cache is full). */
export function refusalResponse(reason: GuardRefusal, requestId: string): GuardResponse {
  return refusalStatus(reason) === 503
    ? problem(503, PROBLEM_TYPES.unavailable, 'Service Unavailable', requestId, { 'Retry-After': '1' })
    : problem(401, PROBLEM_TYPES.refused, 'Assertion refused', requestId, { 'WWW-Authenticate': 'Tollgate-Assertion' });
}

/** 502: the app behind the guard could not be reached. */
export function upstreamErrorResponse(requestId: string): GuardResponse {
  return problem(502, PROBLEM_TYPES.upstream, 'Bad Gateway', requestId);
}

/** 500: an unexpected error in the guard (never expected; logged). */
export function internalErrorResponse(requestId: string): GuardResponse {
  return problem(500, PROBLEM_TYPES.internal, 'Internal Server Error', requestId);
}

/**
 * Device context port. Nothing supplies device identity yet (no enrolment, no
 * posture provider), so the only implementation answers "unknown device" —
 * never invented data. Grants that require a device trust level therefore deny
 * with `device-untrusted` until a real source exists.
 */
import type { TrustLevel } from '../policy/index.js';

export interface DeviceContext {
  id: string;
  trust: TrustLevel;
}

export interface DeviceLookupInput {
  request: Request;
  /** Session id of the signed-in user, where there is one. */
  sessionId?: string;
}

export interface DeviceContextSource {
  lookup(input: DeviceLookupInput): Promise<DeviceContext | undefined>;
}

export const noDeviceContext: DeviceContextSource = {
  async lookup() {
    return undefined;
  },
};

/** Workload catalog types (no runtime code: storage adapters import these). */

export type EndpointHealth = 'healthy' | 'unhealthy' | 'unknown';
export type EndpointSource = 'static' | 'ecs' | 'azure';

export interface Endpoint {
  id: string;
  /** Origin of the workload (or its guard): `http(s)://host[:port]`; no path, query or credentials. */
  url: string;
  /** `onprem`, `aws:<region>`, `azure:<region>`. */
  location: string;
  source: EndpointSource;
  health: EndpointHealth;
}

export interface Workload {
  id: string;
  name: string;
  /** Authorities (host[:port], lower case) the workload is served on. */
  hosts: string[];
  endpoints: Endpoint[];
  /** Bearer path: pass the caller's Authorization header to the workload (default: removed; docs/services.md). */
  forwardAuthorization?: boolean;
}

/** What the suite's upstream (test/integration/node/upstream.ts) reports about a request it received. */
export interface Echo {
  method: string;
  /** The raw request target (path + query, byte for byte). */
  target: string;
  /** Raw header pairs in arrival order (names as sent). */
  rawHeaders: [string, string][];
  /** Lower-cased name → values. */
  headers: Record<string, string[]>;
  bodyLength: number;
  bodySha256: string;
}

/** What the benchmark runner and its target processes say to each other. */
export type Scenario = 'floor' | 'forgot' | 'forgot-limited' | 'tokens' | 'mongo';
export type ParentMessage =
  { type: 'issue'; count: number } | { type: 'bcrypt'; count: number } | { type: 'commands' } | { type: 'cpu' };
export type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'issued'; tokens: string[] }
  | { type: 'bcrypt'; msPerOp: number }
  | { type: 'commands'; count: number }
  /** The target's CPU time so far (`process.cpuUsage()`, user + system), in µs. */
  | { type: 'cpu'; us: number };

export const KNOWN_EMAIL = 'known@bench.example';
export const UNKNOWN_EMAIL = 'unknown@bench.example';

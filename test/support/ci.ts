/**
 * Whether the tests run in CI. There, a suite whose server or browser is
 * missing fails instead of being skipped. Any value but empty, `0` and `false` counts.
 */
export function inCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

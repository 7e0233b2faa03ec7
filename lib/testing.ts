/** `express-password-reset/testing`: what authors of stores test them with. */
export {
  tokenStoreConformance,
  type ConformanceCase,
  type TokenStoreConformanceOptions,
  type TokenStoreSubject,
} from './stores/conformance';

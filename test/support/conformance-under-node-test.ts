/**
 * The conformance suite as a store author runs it under `node:test` (no jest), against MemoryTokenStore; with
 * `EPR_BROKEN_CLAIM=1`, against one whose `claim` lets every caller win, which the suite must fail.
 * Run by test/conformance-runners.test.ts: `node --import tsx --test <this file>`.
 */
import { test } from 'node:test';
import { MemoryTokenStore } from '../../lib';
import { tokenStoreConformance } from '../../lib/testing';

class BrokenClaimStore extends MemoryTokenStore {
  override async claim(): Promise<boolean> {
    return true;
  }
}

const Store = process.env.EPR_BROKEN_CLAIM === '1' ? BrokenClaimStore : MemoryTokenStore;
const cases = tokenStoreConformance({
  createSubject: async () => {
    let offset = 0;
    const store = new Store({ now: () => Date.now() + offset });
    return { store, advance: (ms) => void (offset += ms), purge: async () => store.purge() };
  },
});
for (const { name, run } of cases) void test(name, run);

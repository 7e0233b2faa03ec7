/**
 * Heap per token and lookup time of MemoryTokenStore at 10k, 100k and 1M live
 * tokens. Run with --expose-gc in its own process; prints one JSON line.
 */
import { MemoryTokenStore } from '../../lib';
import { generateToken, hashToken } from '../../lib/core/tokens';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

async function measure(
  size: number,
): Promise<{ size: number; bytesPerToken: number; lookupNs: number; mapGetNs: number }> {
  // Hashes are made before the baseline: the caller holds its token, the store holds what it stores.
  const hashes = Array.from({ length: size }, () => hashToken(generateToken()));
  const expiresAt = new Date(Date.now() + 3_600_000);
  const createdAt = new Date();
  const before = heapUsed();
  const store = new MemoryTokenStore({ maxTokens: size });
  for (let i = 0; i < size; i += 1) {
    await store.save({
      tokenHash: hashes[i]!,
      userId: `user-${i}`,
      email: `user-${i}@example.com`,
      expiresAt,
      createdAt,
    });
  }
  const bytesPerToken = (heapUsed() - before) / size;

  const lookups = 200_000;
  const picks = Array.from({ length: lookups }, () => hashes[Math.floor(Math.random() * size)]!);
  for (let i = 0; i < 20_000; i += 1) await store.find(picks[i]!); // warm-up
  const started = process.hrtime.bigint();
  for (const hash of picks) await store.find(hash);
  const lookupNs = Number(process.hrtime.bigint() - started) / lookups;
  await store.close();

  // The floor at this size: a bare Map.get of the same keys (what the CPU caches allow), to tell the store's cost from
  // the table's.
  const bare = new Map(hashes.map((hash, i) => [hash, i]));
  let sink = 0;
  const bareStarted = process.hrtime.bigint();
  for (const hash of picks) sink += bare.get(hash) ?? 0;
  const mapGetNs = Number(process.hrtime.bigint() - bareStarted) / lookups;
  if (sink < 0) console.error(sink);
  return { size, bytesPerToken, lookupNs, mapGetNs };
}

async function main(): Promise<void> {
  const results = [];
  for (const size of [10_000, 100_000, 1_000_000]) results.push(await measure(size));
  console.log(JSON.stringify(results));
}

void main();

/**
 * The one tracker of work after the answer: the `/forgot` cap counts only `/forgot` work, `settled()` waits for all.
 */
import { BackgroundWork } from '../lib/core/background-work';

test('work started with startSoon is capped; tracked work (notices) never counts towards the cap', async () => {
  const work = new BackgroundWork(2);
  const releases: (() => void)[] = [];
  const hanging = (): Promise<void> => new Promise<void>((resolve) => releases.push(resolve));
  for (let i = 0; i < 5; i += 1) work.track(hanging());
  expect(work.startSoon(hanging)).toBe('started');
  expect(work.startSoon(hanging)).toBe('started');
  expect(work.startSoon(hanging)).toBe('dropped');

  let settled = false;
  const done = work.settled().then(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  expect(releases).toHaveLength(7);
  releases.splice(0, 6).forEach((release) => release());
  await new Promise((resolve) => setImmediate(resolve));
  expect(settled).toBe(false);
  // One capped piece finished: there is room for one more.
  expect(work.startSoon(hanging)).toBe('started');
  await new Promise((resolve) => setImmediate(resolve));
  releases.splice(0).forEach((release) => release());
  await done;
  expect(settled).toBe(true);
});

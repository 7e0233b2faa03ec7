import request from 'supertest';
import type { UserAdapter } from '../../lib';
import { createApp } from './app';

const hashes = new Map<string, string>();
const users: UserAdapter = {
  findByEmail: async (email) =>
    email.toLowerCase() === 'ada@example.com' ? { id: '1', email: 'ada@example.com' } : null,
  updatePassword: async (id, passwordHash) => void hashes.set(id, passwordHash),
};

test('a user resets their password with the emailed link', async () => {
  const { app, router } = createApp(users);
  await request(app).post('/auth/password/forgot').send({ email: 'ada@example.com' }).expect(202);
  await router.settled(); // the email is sent after the 202: wait for it

  const email = router.outbox!.last('ada@example.com')!;
  const token = new URL(email.data.resetUrl!).searchParams.get('token');
  await request(app).post('/auth/password/reset').send({ token, password: 'correct horse battery staple' }).expect(200);
  expect(hashes.get('1')).toMatch(/^\$2b\$/);

  await router.settled();
  expect(router.outbox!.last('ada@example.com')!.subject).toBe('Your password was changed');
  await router.close();
});

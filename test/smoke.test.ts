import express from 'express';
import request from 'supertest';
import { passwordReset, OutboxMailer } from '../lib';

test('smoke', async () => {
  const users = new Map([['a@example.com', { id: 'u1', email: 'a@example.com' }]]);
  let stored = '';
  const mailer = new OutboxMailer({ logger: false });
  const router = passwordReset({ users: { findByEmail: async (e) => users.get(e.toLowerCase()) ?? null, updatePassword: async (_id, h) => { stored = h; } }, resetUrl: 'https://app.example/reset', mailer, bcryptRounds: 10 });
  const app = express().use('/auth', router);
  const r = await request(app).post('/auth/forgot').send({ email: 'a@example.com' });
  expect(r.status).toBe(202);
  await new Promise((r) => setTimeout(r, 50));
  const token = /token=([\w-]+)/.exec(mailer.messages[0]!.text)![1]!;
  const v = await request(app).post('/auth/verify').send({ token });
  expect(v.body).toMatchObject({ success: true, valid: true });
  const x = await request(app).post('/auth/reset').send({ token, password: 'correct horse battery' });
  expect(x.body).toEqual({ success: true });
  expect(stored).toMatch(/^\$2b\$10\$/);
  const y = await request(app).post('/auth/reset').send({ token, password: 'correct horse battery' });
  expect(y.status).toBe(400);
  console.log(y.body, mailer.messages.map((m) => m.kind));
  await router.close();
});

/** examples/mongo-demo.ts works: seeded users in MongoDB, a reset through the router, sign-in with the new password. */
import type { Connection } from 'mongoose';
import request from 'supertest';
import { createMongoDemoApp, type MongoDemoApp } from '../examples/mongo-demo';
import { DEMO_USERS } from '../examples/demo-app';
import { databaseName, describeMongo, dropAndClose, openConnection } from './support/mongo';

describeMongo('examples/mongo-demo', () => {
  let connection: Connection;
  let demo: MongoDemoApp;

  beforeAll(async () => {
    connection = await openConnection(databaseName('mongo_demo'));
    demo = await createMongoDemoApp(connection, 'https://demo.example', { bcryptRounds: 4, logger: false });
  });
  afterAll(async () => {
    await demo?.router.close();
    await dropAndClose(connection);
  });

  test('a seeded user resets the password and signs in with the new one, not the old one', async () => {
    const alice = DEMO_USERS[0]!;
    expect(await demo.User.countDocuments()).toBe(DEMO_USERS.length);
    expect(
      (await request(demo.app).post('/signin').type('form').send({ email: alice.email, password: alice.password }))
        .status,
    ).toBe(200);

    expect(
      (await request(demo.app).post('/auth/password/forgot').send({ email: alice.email.toUpperCase() })).status,
    ).toBe(202);
    for (let i = 0; i < 100 && demo.outbox.messages.length === 0; i += 1)
      await new Promise((wake) => setTimeout(wake, 20));
    const link = /https:\/\/demo\.example\/auth\/password\/reset\?token=[\w-]+/.exec(
      demo.outbox.last(alice.email)!.text,
    )![0];
    const token = new URL(link).searchParams.get('token')!;
    expect(
      (await request(demo.app).post('/auth/password/reset').send({ token, password: 'a brand new passphrase' })).body,
    ).toEqual({ success: true });

    expect(
      (
        await request(demo.app)
          .post('/signin')
          .type('form')
          .send({ email: alice.email, password: 'a brand new passphrase' })
      ).status,
    ).toBe(200);
    expect(
      (await request(demo.app).post('/signin').type('form').send({ email: alice.email, password: alice.password }))
        .status,
    ).toBe(401);
    expect((await request(demo.app).get('/outbox')).text).toContain(escapeForHtml(alice.email));
  });
});

function escapeForHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

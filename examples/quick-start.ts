import express from 'express';
import { passwordReset, type UserAdapter } from '../lib';

// Your users. `findByEmail` resolves { id, email, name?, locale? } or null, matching the address case-insensitively.
const accounts = [{ id: '1', email: 'ada@example.com', name: 'Ada', passwordHash: '' }];
const users: UserAdapter = {
  findByEmail: async (email) => {
    const account = accounts.find((a) => a.email.toLowerCase() === email.toLowerCase());
    return account ? { id: account.id, email: account.email, name: account.name } : null;
  },
  updatePassword: async (id, passwordHash) => {
    const account = accounts.find((a) => a.id === id);
    if (account) account.passwordHash = passwordHash;
  },
};

// No mailer set: emails are kept in memory, in router.outbox.
const router = passwordReset({ users, resetUrl: 'http://localhost:3000/reset' });
const app = express();
app.use('/auth/password', router);
app.get('/outbox', (_req, res) => {
  res.type('text').send(router.outbox?.last('ada@example.com')?.text ?? 'no email yet');
});
app.listen(3000, () => console.log('http://localhost:3000'));

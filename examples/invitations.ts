import express from 'express';
import { passwordReset, type UserAdapter } from '../lib';

// Accounts your app creates itself have no password (null) until their owner chooses one through the invitation.
export const accounts: { id: string; email: string; name: string; passwordHash: string | null }[] = [];
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

export const router = passwordReset({
  users,
  resetUrl: 'http://localhost:3000/auth/password/reset',
  pages: true,
  emails: { appName: 'Acme' },
});
export const app = express();
app.use('/auth/password', router);

// Behind your admin authentication: create the account without a password, then invite its owner.
app.post('/admin/users', express.json(), async (req, res) => {
  const { email, name } = req.body as { email: string; name: string };
  accounts.push({ id: String(accounts.length + 1), email, name, passwordHash: null });
  const { userId, expiresAt } = await router.sendResetLink(email, { kind: 'invite' });
  res.status(201).json({ id: userId, invitationExpiresAt: expiresAt });
});

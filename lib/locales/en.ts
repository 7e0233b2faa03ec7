/** English: the fallback for every locale the package does not ship. */
import type { LocaleTexts } from './locale-texts';

export const en: LocaleTexts = {
  emails: {
    greeting: (name) => (name ? `Hello ${name},` : 'Hello,'),
    reset: {
      subject: (app) => (app ? `Reset your ${app} password` : 'Reset your password'),
      intro: (app) =>
        `We received a request to reset the password of your ${app ? `${app} ` : ''}account. Use the link below to choose a new password.`,
      button: 'Reset password',
      code: 'Or enter this code:',
      expires: (seconds) => {
        const minutes = Math.floor(seconds / 60);
        const left = minutes === 0 ? 'less than a minute' : minutes === 1 ? '1 minute' : `${minutes} minutes`;
        return `The link expires in ${left} and can be used once.`;
      },
      ignore: 'If you did not ask for this, you can ignore this email; your password stays the same.',
    },
    invite: {
      subject: (app) => (app ? `You have been invited to ${app}` : 'You have been invited'),
      intro: (app) =>
        `You have been invited${app ? ` to ${app}` : ''}: choose a password for your new account with the link below.`,
      button: 'Choose your password',
      expires: (seconds) => {
        const [days, hours, minutes] = [
          Math.floor(seconds / 86_400),
          Math.floor(seconds / 3600),
          Math.floor(seconds / 60),
        ];
        const count = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;
        const left =
          days > 0
            ? count(days, 'day')
            : hours > 0
              ? count(hours, 'hour')
              : minutes > 0
                ? count(minutes, 'minute')
                : 'less than a minute';
        return `The link expires in ${left} and can be used once.`;
      },
      ignore: 'If you did not expect this invitation, you can ignore this email.',
    },
    changed: {
      subject: (app) => (app ? `Your ${app} password was changed` : 'Your password was changed'),
      body: (app) => `The password of your ${app ? `${app} ` : ''}account was just changed.`,
      notYou: 'If this was not you, reset your password now and contact support.',
    },
    unknown: {
      subject: (app) => (app ? `${app} password reset request` : 'Password reset request'),
      body: (app, email) =>
        `Someone asked to reset the password of the ${app ? `${app} ` : ''}account for ${email}, but there is no account with this address.`,
      ignore: 'If you did not ask for this, you can ignore this email.',
    },
  },
  pages: {
    errorPrefix: 'Error: ',
    problem: 'There is a problem',
    requestNew: 'Request a new link',
    signIn: 'Back to sign in',
    forgot: {
      title: 'Forgot your password?',
      intro: 'Enter the email address of your account. We will send you a link to choose a new password.',
      email: 'Email address',
      submit: 'Send reset link',
      sentTitle: 'Check your email',
      sent: 'If an account exists for that address, an email with a link to reset the password is on its way.',
      sentHint: 'No email after a few minutes? Check your spam folder, or request a new link.',
      haveCode: 'I have a code',
    },
    reset: {
      title: 'Choose a new password',
      intro: 'Enter the new password for your account.',
      account: (email) => `Account: ${email}`,
      password: 'New password',
      passwordHint: (min, max) => `Between ${min} and ${max} characters. A few unrelated words make a strong password.`,
      confirm: 'Repeat the new password',
      submit: 'Save new password',
      codeIntro: 'Enter your email address, the code from the email and your new password.',
      email: 'Email address',
      code: 'Code from the email',
      codeHint: (digits) => `${digits} digits.`,
      otp: 'Authentication code',
      otpHint: 'The code from your authenticator app.',
      missingTitle: 'This link is incomplete',
      missing: 'This page needs the full link from your email. Open the link again, or request a new one.',
      invalidTitle: 'This link cannot be used',
    },
    done: {
      title: 'Password changed',
      message: 'Your password has been changed. You can now sign in with your new password.',
    },
    invite: {
      title: 'Choose a password for your new account',
      intro: 'Welcome! Choose the password you will sign in with.',
      submit: 'Save password',
      doneTitle: 'Password set',
      done: 'Your password is set and your account is ready. You can now sign in.',
    },
    errors: {
      emailRequired: 'Enter your email address.',
      emailInvalid: 'Enter an email address in the right format, like name@example.com.',
      codeRequired: 'Enter the code from the email.',
      codeInvalid: 'The code is made of digits only.',
      otpRequired: 'This account is protected by a second factor: enter the code from your authenticator app.',
      otpInvalid: 'The authentication code is not right. Enter the current code from your authenticator app.',
      passwordRequired: 'Enter a new password.',
      confirmMismatch: 'The two passwords do not match.',
      tokenInvalid: 'This reset link is invalid or has already been used.',
      tokenExpired: 'This reset link has expired.',
      codeRejected: 'The code or the email address is not right, or the code was entered wrongly too often.',
      codeExpired: 'This code has expired. Request a new one.',
      forbidden:
        'This form has expired or was sent from another site. Please fill it in again (this site needs cookies).',
      rateLimited: 'Too many attempts. Please try again later.',
      unavailable: 'The service is temporarily unavailable. Please try again later.',
      unconfirmed:
        'Your new password could not be confirmed in time. It may still take effect in a moment; if it does not, please try again later.',
      tooLarge: 'What you entered is too long.',
      badRequest: 'The form could not be read. Please try again.',
      unexpected: 'Something went wrong. Please try again later.',
      rules: {
        minLength: (n) => `Use at least ${n} characters.`,
        maxLength: (n) => `Use at most ${n} characters.`,
        maxBytes: 'Use a shorter password.',
        common: 'This password is too common. Choose one that is harder to guess.',
        strength: 'This password is too easy to guess. Add more words or characters.',
        breached: 'This password has appeared in a data breach. Choose a different one.',
        custom: 'This password is not allowed.',
      },
    },
  },
};

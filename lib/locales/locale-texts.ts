/**
 * The shape of one locale: the texts of the built-in emails and of the hosted
 * pages, together, so a language is added in one file (see `index.ts`).
 */

/**
 * The words of the built-in emails: a greeting and one entry per `EmailKind` (the templates index it by kind, so a
 * kind without its texts does not compile). Values are plain text: the templates escape what they insert into HTML.
 */
export interface EmailTexts {
  greeting: (name?: string) => string;
  /** `appName` is absent when `emails.appName` is not set: the texts then read well without one. */
  reset: {
    subject: (appName?: string) => string;
    intro: (appName?: string) => string;
    button: string;
    code: string;
    /** The link's lifetime in whole seconds; under a minute must not read as "1 minute". */
    expires: (seconds: number) => string;
    ignore: string;
  };
  /** The invitation: an account the app created, whose owner chooses a first password through the link. */
  invite: {
    subject: (appName?: string) => string;
    intro: (appName?: string) => string;
    button: string;
    /** The link's lifetime in whole seconds (days by default); rounded down, never promising more than it has. */
    expires: (seconds: number) => string;
    ignore: string;
  };
  changed: { subject: (appName?: string) => string; body: (appName?: string) => string; notYou: string };
  unknown: {
    subject: (appName?: string) => string;
    body: (appName: string | undefined, email: string) => string;
    ignore: string;
  };
}

/** The words of the hosted pages. Values are plain text: the views escape everything they insert. */
export interface PageTexts {
  /** Prefix of the window title and of each error, for screen readers: "Error: ". */
  errorPrefix: string;
  /** Heading of the error summary. */
  problem: string;
  requestNew: string;
  /** The link to `pages.signInUrl`. */
  signIn: string;
  forgot: {
    title: string;
    intro: string;
    email: string;
    submit: string;
    sentTitle: string;
    /** The same uniform answer as the API's `/forgot` message. */
    sent: string;
    sentHint: string;
    haveCode: string;
  };
  reset: {
    title: string;
    intro: string;
    /** Names the account a link resets, so nobody sets a password on someone else's account unawares. */
    account: (email: string) => string;
    password: string;
    passwordHint: (min: number, max: number) => string;
    confirm: string;
    submit: string;
    codeIntro: string;
    email: string;
    code: string;
    codeHint: (digits: number) => string;
    /** `secondFactor`: the field of the authentication code (e.g. from an authenticator app), and its hint. */
    otp: string;
    otpHint: string;
    missingTitle: string;
    missing: string;
    invalidTitle: string;
  };
  done: { title: string; message: string };
  /** The link's form and success page for an invitation: a first password, not a reset. */
  invite: { title: string; intro: string; submit: string; doneTitle: string; done: string };
  errors: {
    emailRequired: string;
    emailInvalid: string;
    codeRequired: string;
    codeInvalid: string;
    /** `401 SECOND_FACTOR_REQUIRED` / `SECOND_FACTOR_INVALID`. */
    otpRequired: string;
    otpInvalid: string;
    passwordRequired: string;
    confirmMismatch: string;
    tokenInvalid: string;
    tokenExpired: string;
    codeRejected: string;
    codeExpired: string;
    forbidden: string;
    rateLimited: string;
    unavailable: string;
    /** The password write failed and may still land: never says that nothing changed. */
    unconfirmed: string;
    tooLarge: string;
    badRequest: string;
    unexpected: string;
    /** Password policy rules (`error.details[].rule`), with the policy's numbers. */
    rules: {
      minLength: (n: number) => string;
      maxLength: (n: number) => string;
      maxBytes: string;
      common: string;
      strength: string;
      breached: string;
      custom: string;
    };
  };
}

/** One language of the package. */
export interface LocaleTexts {
  emails: EmailTexts;
  pages: PageTexts;
}

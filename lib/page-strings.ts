/**
 * The words of the hosted pages, per locale (the same locales as the built-in
 * emails). Values are plain text: the views escape everything they insert.
 */

/** The texts of one locale. */
export interface PageStrings {
  /** Prefix of the window title and of each error, for screen readers: "Error: ". */
  errorPrefix: string;
  /** Heading of the error summary. */
  problem: string;
  requestNew: string;
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
    password: string;
    passwordHint: (min: number, max: number) => string;
    confirm: string;
    submit: string;
    codeIntro: string;
    email: string;
    code: string;
    codeHint: (digits: number) => string;
    missingTitle: string;
    missing: string;
    invalidTitle: string;
  };
  done: { title: string; message: string };
  errors: {
    emailRequired: string;
    emailInvalid: string;
    codeRequired: string;
    codeInvalid: string;
    passwordRequired: string;
    confirmMismatch: string;
    tokenInvalid: string;
    tokenExpired: string;
    codeRejected: string;
    codeExpired: string;
    forbidden: string;
    rateLimited: string;
    unavailable: string;
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

const en: PageStrings = {
  errorPrefix: 'Error: ',
  problem: 'There is a problem',
  requestNew: 'Request a new link',
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
    password: 'New password',
    passwordHint: (min, max) => `Between ${min} and ${max} characters. A few unrelated words make a strong password.`,
    confirm: 'Repeat the new password',
    submit: 'Save new password',
    codeIntro: 'Enter your email address, the code from the email and your new password.',
    email: 'Email address',
    code: 'Code from the email',
    codeHint: (digits) => `${digits} digits.`,
    missingTitle: 'This link is incomplete',
    missing: 'This page needs the full link from your email. Open the link again, or request a new one.',
    invalidTitle: 'This link cannot be used',
  },
  done: {
    title: 'Password changed',
    message: 'Your password has been changed. You can now sign in with your new password.',
  },
  errors: {
    emailRequired: 'Enter your email address.',
    emailInvalid: 'Enter an email address in the right format, like name@example.com.',
    codeRequired: 'Enter the code from the email.',
    codeInvalid: 'The code is made of digits only.',
    passwordRequired: 'Enter a new password.',
    confirmMismatch: 'The two passwords do not match.',
    tokenInvalid: 'This reset link is invalid or has already been used.',
    tokenExpired: 'This reset link has expired.',
    codeRejected: 'The code or the email address is not right, or the code was entered wrongly too often.',
    codeExpired: 'This code has expired. Request a new one.',
    forbidden: 'This form has expired or was sent from another site. Please fill it in again (this site needs cookies).',
    rateLimited: 'Too many attempts. Please try again later.',
    unavailable: 'The service is temporarily unavailable. Please try again later.',
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
};

const de: PageStrings = {
  errorPrefix: 'Fehler: ',
  problem: 'Es gibt ein Problem',
  requestNew: 'Neuen Link anfordern',
  forgot: {
    title: 'Passwort vergessen?',
    intro: 'Geben Sie die E-Mail-Adresse Ihres Kontos ein. Wir senden Ihnen einen Link, mit dem Sie ein neues Passwort festlegen können.',
    email: 'E-Mail-Adresse',
    submit: 'Link senden',
    sentTitle: 'Prüfen Sie Ihre E-Mails',
    sent: 'Falls zu dieser Adresse ein Konto besteht, ist eine E-Mail mit einem Link zum Zurücksetzen des Passworts unterwegs.',
    sentHint: 'Nach einigen Minuten keine E-Mail? Sehen Sie im Spam-Ordner nach oder fordern Sie einen neuen Link an.',
    haveCode: 'Ich habe einen Code',
  },
  reset: {
    title: 'Neues Passwort festlegen',
    intro: 'Geben Sie das neue Passwort für Ihr Konto ein.',
    password: 'Neues Passwort',
    passwordHint: (min, max) => `Zwischen ${min} und ${max} Zeichen. Einige nicht zusammenhängende Wörter ergeben ein starkes Passwort.`,
    confirm: 'Neues Passwort wiederholen',
    submit: 'Neues Passwort speichern',
    codeIntro: 'Geben Sie Ihre E-Mail-Adresse, den Code aus der E-Mail und Ihr neues Passwort ein.',
    email: 'E-Mail-Adresse',
    code: 'Code aus der E-Mail',
    codeHint: (digits) => `${digits} Ziffern.`,
    missingTitle: 'Dieser Link ist unvollständig',
    missing: 'Diese Seite braucht den vollständigen Link aus Ihrer E-Mail. Öffnen Sie den Link erneut oder fordern Sie einen neuen an.',
    invalidTitle: 'Dieser Link kann nicht verwendet werden',
  },
  done: {
    title: 'Passwort geändert',
    message: 'Ihr Passwort wurde geändert. Sie können sich jetzt mit dem neuen Passwort anmelden.',
  },
  errors: {
    emailRequired: 'Geben Sie Ihre E-Mail-Adresse ein.',
    emailInvalid: 'Geben Sie eine E-Mail-Adresse im richtigen Format ein, zum Beispiel name@example.com.',
    codeRequired: 'Geben Sie den Code aus der E-Mail ein.',
    codeInvalid: 'Der Code besteht nur aus Ziffern.',
    passwordRequired: 'Geben Sie ein neues Passwort ein.',
    confirmMismatch: 'Die beiden Passwörter stimmen nicht überein.',
    tokenInvalid: 'Dieser Link ist ungültig oder wurde bereits verwendet.',
    tokenExpired: 'Dieser Link ist abgelaufen.',
    codeRejected: 'Der Code oder die E-Mail-Adresse stimmt nicht, oder der Code wurde zu oft falsch eingegeben.',
    codeExpired: 'Dieser Code ist abgelaufen. Fordern Sie einen neuen an.',
    forbidden: 'Dieses Formular ist abgelaufen oder wurde von einer anderen Website gesendet. Bitte füllen Sie es erneut aus (diese Seite braucht Cookies).',
    rateLimited: 'Zu viele Versuche. Bitte versuchen Sie es später erneut.',
    unavailable: 'Der Dienst ist vorübergehend nicht erreichbar. Bitte versuchen Sie es später erneut.',
    tooLarge: 'Ihre Eingabe ist zu lang.',
    badRequest: 'Das Formular konnte nicht gelesen werden. Bitte versuchen Sie es erneut.',
    unexpected: 'Etwas ist schiefgelaufen. Bitte versuchen Sie es später erneut.',
    rules: {
      minLength: (n) => `Verwenden Sie mindestens ${n} Zeichen.`,
      maxLength: (n) => `Verwenden Sie höchstens ${n} Zeichen.`,
      maxBytes: 'Verwenden Sie ein kürzeres Passwort.',
      common: 'Dieses Passwort ist zu verbreitet. Wählen Sie eines, das schwerer zu erraten ist.',
      strength: 'Dieses Passwort ist zu leicht zu erraten. Fügen Sie weitere Wörter oder Zeichen hinzu.',
      breached: 'Dieses Passwort ist in einem Datenleck aufgetaucht. Wählen Sie ein anderes.',
      custom: 'Dieses Passwort ist nicht erlaubt.',
    },
  },
};

const fr: PageStrings = {
  errorPrefix: 'Erreur : ',
  problem: 'Il y a un problème',
  requestNew: 'Demander un nouveau lien',
  forgot: {
    title: 'Mot de passe oublié ?',
    intro: 'Saisissez l’adresse e-mail de votre compte. Nous vous enverrons un lien pour choisir un nouveau mot de passe.',
    email: 'Adresse e-mail',
    submit: 'Envoyer le lien',
    sentTitle: 'Consultez vos e-mails',
    sent: 'Si un compte existe pour cette adresse, un e-mail contenant un lien pour réinitialiser le mot de passe est en route.',
    sentHint: 'Pas d’e-mail après quelques minutes ? Vérifiez vos courriers indésirables ou demandez un nouveau lien.',
    haveCode: 'J’ai un code',
  },
  reset: {
    title: 'Choisir un nouveau mot de passe',
    intro: 'Saisissez le nouveau mot de passe de votre compte.',
    password: 'Nouveau mot de passe',
    passwordHint: (min, max) => `Entre ${min} et ${max} caractères. Quelques mots sans rapport entre eux font un mot de passe solide.`,
    confirm: 'Répétez le nouveau mot de passe',
    submit: 'Enregistrer le mot de passe',
    codeIntro: 'Saisissez votre adresse e-mail, le code reçu par e-mail et votre nouveau mot de passe.',
    email: 'Adresse e-mail',
    code: 'Code reçu par e-mail',
    codeHint: (digits) => `${digits} chiffres.`,
    missingTitle: 'Ce lien est incomplet',
    missing: 'Cette page a besoin du lien complet de votre e-mail. Ouvrez à nouveau le lien ou demandez-en un nouveau.',
    invalidTitle: 'Ce lien ne peut pas être utilisé',
  },
  done: {
    title: 'Mot de passe modifié',
    message: 'Votre mot de passe a été modifié. Vous pouvez maintenant vous connecter avec votre nouveau mot de passe.',
  },
  errors: {
    emailRequired: 'Saisissez votre adresse e-mail.',
    emailInvalid: 'Saisissez une adresse e-mail au bon format, par exemple nom@example.com.',
    codeRequired: 'Saisissez le code reçu par e-mail.',
    codeInvalid: 'Le code ne contient que des chiffres.',
    passwordRequired: 'Saisissez un nouveau mot de passe.',
    confirmMismatch: 'Les deux mots de passe ne correspondent pas.',
    tokenInvalid: 'Ce lien de réinitialisation n’est pas valide ou a déjà été utilisé.',
    tokenExpired: 'Ce lien de réinitialisation a expiré.',
    codeRejected: 'Le code ou l’adresse e-mail est incorrect, ou le code a été mal saisi trop souvent.',
    codeExpired: 'Ce code a expiré. Demandez-en un nouveau.',
    forbidden: 'Ce formulaire a expiré ou a été envoyé depuis un autre site. Veuillez le remplir à nouveau (ce site a besoin des cookies).',
    rateLimited: 'Trop de tentatives. Veuillez réessayer plus tard.',
    unavailable: 'Le service est momentanément indisponible. Veuillez réessayer plus tard.',
    tooLarge: 'Votre saisie est trop longue.',
    badRequest: 'Le formulaire n’a pas pu être lu. Veuillez réessayer.',
    unexpected: 'Une erreur s’est produite. Veuillez réessayer plus tard.',
    rules: {
      minLength: (n) => `Utilisez au moins ${n} caractères.`,
      maxLength: (n) => `Utilisez au plus ${n} caractères.`,
      maxBytes: 'Utilisez un mot de passe plus court.',
      common: 'Ce mot de passe est trop courant. Choisissez-en un plus difficile à deviner.',
      strength: 'Ce mot de passe est trop facile à deviner. Ajoutez des mots ou des caractères.',
      breached: 'Ce mot de passe est apparu dans une fuite de données. Choisissez-en un autre.',
      custom: 'Ce mot de passe n’est pas autorisé.',
    },
  },
};

/** Texts per locale; `en` is the fallback. */
export const PAGE_STRINGS: Readonly<Record<string, PageStrings>> = { en, de, fr };

/** The page locales, in order of preference when a browser accepts several equally. */
export const PAGE_LOCALES = Object.keys(PAGE_STRINGS);

/** The supported page locale closest to `requested` (`de-CH` → `de`), or `undefined`. */
export function pageLocale(requested: string): string | undefined {
  const lower = requested.toLowerCase();
  if (lower in PAGE_STRINGS) return lower;
  const language = lower.split(/[-_]/)[0] ?? '';
  return language in PAGE_STRINGS ? language : undefined;
}

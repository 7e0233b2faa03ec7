/** German. Formal address ("Sie"), as German service emails usually use. */
import type { LocaleTexts } from './locale-texts';

export const de: LocaleTexts = {
  emails: {
    greeting: (name) => (name ? `Hallo ${name},` : 'Hallo,'),
    reset: {
      subject: (app) => (app ? `Passwort für ${app} zurücksetzen` : 'Passwort zurücksetzen'),
      intro: (app) =>
        `Wir haben eine Anfrage erhalten, das Passwort Ihres Kontos${app ? ` bei ${app}` : ''} zurückzusetzen. Über den folgenden Link können Sie ein neues Passwort festlegen.`,
      button: 'Passwort zurücksetzen',
      code: 'Oder geben Sie diesen Code ein:',
      expires: (seconds) => {
        const minutes = Math.floor(seconds / 60);
        const valid = minutes === 0 ? 'weniger als eine Minute' : minutes === 1 ? 'eine Minute' : `${minutes} Minuten`;
        return `Der Link ist ${valid} lang gültig und kann nur einmal verwendet werden.`;
      },
      ignore:
        'Falls Sie das nicht angefordert haben, können Sie diese E-Mail ignorieren. Ihr Passwort bleibt unverändert.',
    },
    invite: {
      subject: (app) => (app ? `Einladung zu ${app}` : 'Einladung zu Ihrem neuen Konto'),
      intro: (app) =>
        `Sie wurden${app ? ` zu ${app}` : ''} eingeladen: Wählen Sie über den folgenden Link ein Passwort für Ihr neues Konto.`,
      button: 'Passwort wählen',
      expires: (seconds) => {
        const [days, hours, minutes] = [
          Math.floor(seconds / 86_400),
          Math.floor(seconds / 3600),
          Math.floor(seconds / 60),
        ];
        const valid =
          days > 0
            ? days === 1
              ? 'einen Tag'
              : `${days} Tage`
            : hours > 0
              ? hours === 1
                ? 'eine Stunde'
                : `${hours} Stunden`
              : minutes > 0
                ? minutes === 1
                  ? 'eine Minute'
                  : `${minutes} Minuten`
                : 'weniger als eine Minute';
        return `Der Link ist ${valid} lang gültig und kann nur einmal verwendet werden.`;
      },
      ignore: 'Falls Sie diese Einladung nicht erwartet haben, können Sie diese E-Mail ignorieren.',
    },
    changed: {
      subject: (app) => (app ? `Ihr Passwort für ${app} wurde geändert` : 'Ihr Passwort wurde geändert'),
      body: (app) => `Das Passwort Ihres Kontos${app ? ` bei ${app}` : ''} wurde soeben geändert.`,
      notYou: 'Falls Sie das nicht waren, setzen Sie Ihr Passwort jetzt zurück und wenden Sie sich an den Support.',
    },
    unknown: {
      subject: (app) => `Anfrage zum Zurücksetzen eines Passworts${app ? ` bei ${app}` : ''}`,
      body: (app, email) =>
        app
          ? `Für ${email} wurde das Zurücksetzen des Passworts bei ${app} angefordert, es gibt dort jedoch kein Konto mit dieser Adresse.`
          : `Für ${email} wurde das Zurücksetzen des Passworts angefordert, es gibt jedoch kein Konto mit dieser Adresse.`,
      ignore: 'Falls Sie das nicht angefordert haben, können Sie diese E-Mail ignorieren.',
    },
  },
  pages: {
    errorPrefix: 'Fehler: ',
    problem: 'Es gibt ein Problem',
    requestNew: 'Neuen Link anfordern',
    signIn: 'Zurück zur Anmeldung',
    forgot: {
      title: 'Passwort vergessen?',
      intro:
        'Geben Sie die E-Mail-Adresse Ihres Kontos ein. Wir senden Ihnen einen Link, mit dem Sie ein neues Passwort festlegen können.',
      email: 'E-Mail-Adresse',
      submit: 'Link senden',
      sentTitle: 'Prüfen Sie Ihre E-Mails',
      sent: 'Falls zu dieser Adresse ein Konto besteht, ist eine E-Mail mit einem Link zum Zurücksetzen des Passworts unterwegs.',
      sentHint:
        'Nach einigen Minuten keine E-Mail? Sehen Sie im Spam-Ordner nach oder fordern Sie einen neuen Link an.',
      haveCode: 'Ich habe einen Code',
    },
    reset: {
      title: 'Neues Passwort festlegen',
      intro: 'Geben Sie das neue Passwort für Ihr Konto ein.',
      account: (email) => `Konto: ${email}`,
      password: 'Neues Passwort',
      passwordHint: (min, max) =>
        `Zwischen ${min} und ${max} Zeichen. Einige nicht zusammenhängende Wörter ergeben ein starkes Passwort.`,
      confirm: 'Neues Passwort wiederholen',
      submit: 'Neues Passwort speichern',
      codeIntro: 'Geben Sie Ihre E-Mail-Adresse, den Code aus der E-Mail und Ihr neues Passwort ein.',
      email: 'E-Mail-Adresse',
      code: 'Code aus der E-Mail',
      codeHint: (digits) => `${digits} Ziffern.`,
      otp: 'Authentifizierungscode',
      otpHint: 'Der Code aus Ihrer Authenticator-App.',
      missingTitle: 'Dieser Link ist unvollständig',
      missing:
        'Diese Seite braucht den vollständigen Link aus Ihrer E-Mail. Öffnen Sie den Link erneut oder fordern Sie einen neuen an.',
      invalidTitle: 'Dieser Link kann nicht verwendet werden',
    },
    done: {
      title: 'Passwort geändert',
      message: 'Ihr Passwort wurde geändert. Sie können sich jetzt mit dem neuen Passwort anmelden.',
    },
    invite: {
      title: 'Passwort für Ihr neues Konto wählen',
      intro: 'Willkommen! Wählen Sie das Passwort, mit dem Sie sich anmelden werden.',
      submit: 'Passwort speichern',
      doneTitle: 'Passwort festgelegt',
      done: 'Ihr Passwort ist festgelegt und Ihr Konto ist bereit. Sie können sich jetzt anmelden.',
    },
    errors: {
      emailRequired: 'Geben Sie Ihre E-Mail-Adresse ein.',
      emailInvalid: 'Geben Sie eine E-Mail-Adresse im richtigen Format ein, zum Beispiel name@example.com.',
      codeRequired: 'Geben Sie den Code aus der E-Mail ein.',
      codeInvalid: 'Der Code besteht nur aus Ziffern.',
      otpRequired:
        'Dieses Konto ist mit einem zweiten Faktor geschützt: Geben Sie den Code aus Ihrer Authenticator-App ein.',
      otpInvalid:
        'Der Authentifizierungscode stimmt nicht. Geben Sie den aktuellen Code aus Ihrer Authenticator-App ein.',
      passwordRequired: 'Geben Sie ein neues Passwort ein.',
      confirmMismatch: 'Die beiden Passwörter stimmen nicht überein.',
      tokenInvalid: 'Dieser Link ist ungültig oder wurde bereits verwendet.',
      tokenExpired: 'Dieser Link ist abgelaufen.',
      codeRejected: 'Der Code oder die E-Mail-Adresse stimmt nicht, oder der Code wurde zu oft falsch eingegeben.',
      codeExpired: 'Dieser Code ist abgelaufen. Fordern Sie einen neuen an.',
      forbidden:
        'Dieses Formular ist abgelaufen oder wurde von einer anderen Website gesendet. Bitte füllen Sie es erneut aus (diese Seite braucht Cookies).',
      rateLimited: 'Zu viele Versuche. Bitte versuchen Sie es später erneut.',
      unavailable: 'Der Dienst ist vorübergehend nicht erreichbar. Bitte versuchen Sie es später erneut.',
      unconfirmed:
        'Ihr neues Passwort konnte nicht rechtzeitig bestätigt werden. Es kann in Kürze noch wirksam werden; falls nicht, versuchen Sie es bitte später erneut.',
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
  },
};

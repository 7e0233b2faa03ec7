/** French. "Vous", typographic apostrophes, and the no-break space French puts before ":" and ";". */
import type { LocaleTexts } from './locale-texts';

export const fr: LocaleTexts = {
  emails: {
    greeting: (name) => (name ? `Bonjour ${name},` : 'Bonjour,'),
    reset: {
      subject: (app) => `Réinitialisation de votre mot de passe${app ? ` ${app}` : ''}`,
      intro: (app) =>
        `Nous avons reçu une demande de réinitialisation du mot de passe de votre compte${app ? ` ${app}` : ''}. Utilisez le lien ci-dessous pour choisir un nouveau mot de passe.`,
      button: 'Réinitialiser le mot de passe',
      code: 'Ou saisissez ce code\u00a0:',
      expires: (seconds) => {
        const minutes = Math.floor(seconds / 60);
        const left = minutes === 0 ? 'moins d’une minute' : `${minutes} minute${minutes === 1 ? '' : 's'}`;
        return `Le lien expire dans ${left} et ne peut être utilisé qu’une seule fois.`;
      },
      ignore:
        'Si vous n’êtes pas à l’origine de cette demande, vous pouvez ignorer cet e-mail\u00a0; votre mot de passe reste inchangé.',
    },
    invite: {
      subject: (app) => (app ? `Invitation à rejoindre ${app}` : 'Invitation à créer votre compte'),
      intro: (app) =>
        `Vous avez reçu une invitation${app ? ` à rejoindre ${app}` : ''}\u00a0: choisissez un mot de passe pour votre nouveau compte à l’aide du lien ci-dessous.`,
      button: 'Choisir mon mot de passe',
      expires: (seconds) => {
        const [days, hours, minutes] = [
          Math.floor(seconds / 86_400),
          Math.floor(seconds / 3600),
          Math.floor(seconds / 60),
        ];
        const count = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;
        const left =
          days > 0
            ? count(days, 'jour')
            : hours > 0
              ? count(hours, 'heure')
              : minutes > 0
                ? count(minutes, 'minute')
                : 'moins d’une minute';
        return `Le lien expire dans ${left} et ne peut être utilisé qu’une seule fois.`;
      },
      ignore: 'Si vous ne vous attendiez pas à cette invitation, vous pouvez ignorer cet e-mail.',
    },
    changed: {
      subject: (app) => `Votre mot de passe${app ? ` ${app}` : ''} a été modifié`,
      body: (app) => `Le mot de passe de votre compte${app ? ` ${app}` : ''} vient d’être modifié.`,
      notYou:
        'Si vous n’êtes pas à l’origine de ce changement, réinitialisez votre mot de passe dès maintenant et contactez le support.',
    },
    unknown: {
      subject: (app) => `Demande de réinitialisation du mot de passe${app ? ` ${app}` : ''}`,
      body: (app, email) =>
        `Quelqu’un a demandé à réinitialiser le mot de passe du compte${app ? ` ${app}` : ''} associé à ${email}, mais aucun compte n’existe avec cette adresse.`,
      ignore: 'Si vous n’êtes pas à l’origine de cette demande, vous pouvez ignorer cet e-mail.',
    },
  },
  pages: {
    errorPrefix: 'Erreur : ',
    problem: 'Il y a un problème',
    requestNew: 'Demander un nouveau lien',
    signIn: 'Retour à la connexion',
    forgot: {
      title: 'Mot de passe oublié ?',
      intro:
        'Saisissez l’adresse e-mail de votre compte. Nous vous enverrons un lien pour choisir un nouveau mot de passe.',
      email: 'Adresse e-mail',
      submit: 'Envoyer le lien',
      sentTitle: 'Consultez vos e-mails',
      sent: 'Si un compte existe pour cette adresse, un e-mail contenant un lien pour réinitialiser le mot de passe est en route.',
      sentHint:
        'Pas d’e-mail après quelques minutes ? Vérifiez vos courriers indésirables ou demandez un nouveau lien.',
      haveCode: 'J’ai un code',
    },
    reset: {
      title: 'Choisir un nouveau mot de passe',
      intro: 'Saisissez le nouveau mot de passe de votre compte.',
      account: (email) => `Compte : ${email}`,
      password: 'Nouveau mot de passe',
      passwordHint: (min, max) =>
        `Entre ${min} et ${max} caractères. Quelques mots sans rapport entre eux font un mot de passe solide.`,
      confirm: 'Répétez le nouveau mot de passe',
      submit: 'Enregistrer le mot de passe',
      codeIntro: 'Saisissez votre adresse e-mail, le code reçu par e-mail et votre nouveau mot de passe.',
      email: 'Adresse e-mail',
      code: 'Code reçu par e-mail',
      codeHint: (digits) => `${digits} chiffres.`,
      otp: 'Code d’authentification',
      otpHint: 'Le code de votre application d’authentification.',
      missingTitle: 'Ce lien est incomplet',
      missing:
        'Cette page a besoin du lien complet de votre e-mail. Ouvrez à nouveau le lien ou demandez-en un nouveau.',
      invalidTitle: 'Ce lien ne peut pas être utilisé',
    },
    done: {
      title: 'Mot de passe modifié',
      message:
        'Votre mot de passe a été modifié. Vous pouvez maintenant vous connecter avec votre nouveau mot de passe.',
    },
    invite: {
      title: 'Choisissez un mot de passe pour votre nouveau compte',
      intro: 'Bienvenue ! Choisissez le mot de passe avec lequel vous vous connecterez.',
      submit: 'Enregistrer mon mot de passe',
      doneTitle: 'Mot de passe enregistré',
      done: 'Votre mot de passe est enregistré et votre compte est prêt. Vous pouvez maintenant vous connecter.',
    },
    errors: {
      emailRequired: 'Saisissez votre adresse e-mail.',
      emailInvalid: 'Saisissez une adresse e-mail au bon format, par exemple nom@example.com.',
      codeRequired: 'Saisissez le code reçu par e-mail.',
      codeInvalid: 'Le code ne contient que des chiffres.',
      otpRequired:
        'Ce compte est protégé par un second facteur : saisissez le code de votre application d’authentification.',
      otpInvalid:
        'Le code d’authentification est incorrect. Saisissez le code actuel de votre application d’authentification.',
      passwordRequired: 'Saisissez un nouveau mot de passe.',
      confirmMismatch: 'Les deux mots de passe ne correspondent pas.',
      tokenInvalid: 'Ce lien de réinitialisation n’est pas valide ou a déjà été utilisé.',
      tokenExpired: 'Ce lien de réinitialisation a expiré.',
      codeRejected: 'Le code ou l’adresse e-mail est incorrect, ou le code a été mal saisi trop souvent.',
      codeExpired: 'Ce code a expiré. Demandez-en un nouveau.',
      forbidden:
        'Ce formulaire a expiré ou a été envoyé depuis un autre site. Veuillez le remplir à nouveau (ce site a besoin des cookies).',
      rateLimited: 'Trop de tentatives. Veuillez réessayer plus tard.',
      unavailable: 'Le service est momentanément indisponible. Veuillez réessayer plus tard.',
      unconfirmed:
        "Votre nouveau mot de passe n'a pas pu être confirmé à temps. Il peut encore prendre effet dans un instant ; sinon, veuillez réessayer plus tard.",
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
  },
};

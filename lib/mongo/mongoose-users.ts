/**
 * `mongooseUsers(Model, { emailField, passwordField, passwordChangedAtField?, emailVerifiedField? })`: a
 * `UserAdapter` over the app's own Mongoose user model.
 *
 * Email lookup is case-insensitive without building a regular expression from
 * input: an exact match under a case-insensitive collation (`strength: 2`).
 * Servers without collations (FerretDB 1.x refuses them) get an exact match on
 * the address as typed or lowercased, so there addresses must be stored
 * lowercased (e.g. `lowercase: true` on the schema path) to match in any case.
 */
import type { Model } from 'mongoose';
import { OptionsError, describeValue } from '../core/errors';
import type { Logger } from '../core/events';
import type { User, UserAdapter } from '../core/users';
import { checkPositiveInteger } from '../options/checks';
import { DEFAULT_TIMEOUT_MS, MAJORITY, PRIMARY, bounded } from './collection';
import { asModel, type MongooseModel } from './mongoose-types';

/** Options of {@link mongooseUsers}. */
export interface MongooseUsersOptions {
  /** Schema path of the email address, e.g. `'email'` (dotted paths work). */
  emailField: string;
  /** Schema path the new password hash is written to, e.g. `'passwordHash'`. */
  passwordField: string;
  /** Schema path of the name used in email greetings, when the schema has it. @default 'name' */
  nameField?: string;
  /** Schema path of the user's language (e.g. `de`), when the schema has it. @default 'locale' */
  localeField?: string;
  /**
   * Schema path set to the time of every reset, in the same write as the password (e.g. `'passwordChangedAt'`, for a
   * check that refuses sessions or JWTs issued before it). @default none
   */
  passwordChangedAtField?: string;
  /** Schema path set to `true` after a successful reset (the reset proved control of the address). @default none */
  emailVerifiedField?: string;
  /**
   * Longest time one lookup or update may take, also while the database is
   * unreachable (however long your model would buffer); past it the router answers 503. @default 3000
   */
  timeoutMs?: number;
  /** Where the one notice about a server without collations goes; `false` silences it. @default console */
  logger?: Logger | false;
}

/** Case-insensitive, as MongoDB compares under `en` at strength 2 (`A` = `a`, accents still count). */
const CASE_INSENSITIVE = { locale: 'en', strength: 2 } as const;

type UserDocument = Record<string, unknown> & { _id: unknown };

function valueAt(doc: UserDocument, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split('.')) value = (value as Record<string, unknown> | null | undefined)?.[part];
  return value;
}

function checkPath(model: Model<unknown>, option: string, path: unknown, required: boolean): string | undefined {
  if (path === undefined && !required) return undefined;
  if (typeof path !== 'string' || path.length === 0) {
    throw new OptionsError(
      required ? 'ERR_EPR_OPTION_REQUIRED' : 'ERR_EPR_OPTION_INVALID',
      `mongooseUsers.${option}`,
      `must name a path of the ${model.modelName} schema, got ${describeValue(path)}`,
    );
  }
  return path;
}

function hasPath(model: Model<unknown>, path: string): boolean {
  return Boolean(model.schema.path(path));
}

/**
 * Builds the `users` option from a Mongoose model:
 * `mongooseUsers(User, { emailField: 'email', passwordField: 'passwordHash' })`.
 * `updatePassword` writes the hash with `updateOne` (so a pre-save hook that
 * hashes passwords does not hash it twice).
 */
// `_Document` only keeps `mongooseUsers<IUser>(User, …)` compiling, as it did when the model was typed `Model<T>`.
export function mongooseUsers<_Document = unknown>(model: MongooseModel, options: MongooseUsersOptions): UserAdapter {
  const users = asModel<UserDocument>(model);
  const generic = asModel<unknown>(model);
  if (typeof users?.find !== 'function' || typeof users.schema?.path !== 'function') {
    throw new OptionsError(
      'ERR_EPR_OPTION_INVALID',
      'mongooseUsers',
      `expects a Mongoose model as its first argument, got ${describeValue(model)}`,
    );
  }
  if (typeof options !== 'object' || options === null) {
    throw new OptionsError(
      'ERR_EPR_OPTION_REQUIRED',
      'mongooseUsers',
      "needs { emailField, passwordField }, e.g. { emailField: 'email', passwordField: 'passwordHash' }",
    );
  }
  const emailField = checkPath(generic, 'emailField', options.emailField, true)!;
  const passwordField = checkPath(generic, 'passwordField', options.passwordField, true)!;
  const passwordChangedAtField = checkPath(generic, 'passwordChangedAtField', options.passwordChangedAtField, false);
  const emailVerifiedField = checkPath(generic, 'emailVerifiedField', options.emailVerifiedField, false);
  // Writing to a path the schema does not have would be dropped silently by Mongoose's strict mode: refuse it now.
  for (const [option, path] of [
    ['emailField', emailField],
    ['passwordField', passwordField],
    ['passwordChangedAtField', passwordChangedAtField],
    ['emailVerifiedField', emailVerifiedField],
  ] as const) {
    if (path !== undefined && !hasPath(generic, path))
      throw new OptionsError(
        'ERR_EPR_OPTION_INVALID',
        `mongooseUsers.${option}`,
        `names "${path}", which is not a path of the ${generic.modelName} schema`,
      );
  }
  const nameField = checkPath(generic, 'nameField', options.nameField, false) ?? 'name';
  const localeField = checkPath(generic, 'localeField', options.localeField, false) ?? 'locale';
  const op = { timeoutMS: checkPositiveInteger('mongooseUsers.timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS) };
  const read = { ...op, ...PRIMARY };
  const logger = options.logger === undefined ? console : options.logger;
  // With `lowercase: true` on the path, the fallback below is case-insensitive already: nothing to warn about.
  const storedLowercase =
    (generic.schema.path(emailField) as { options?: { lowercase?: unknown } }).options?.lowercase === true;
  let collations = true;

  const toUser = (doc: UserDocument): User => {
    const name = valueAt(doc, nameField);
    const locale = valueAt(doc, localeField);
    return {
      id: String(doc._id),
      email: String(valueAt(doc, emailField)),
      ...(typeof name === 'string' && name !== '' ? { name } : {}),
      ...(typeof locale === 'string' && locale !== '' ? { locale } : {}),
    };
  };

  const lookup = async (email: string): Promise<UserDocument[]> => {
    if (collations) {
      try {
        return await bounded(
          users
            .find({ [emailField]: email })
            .collation(CASE_INSENSITIVE)
            .sort({ _id: 1 })
            .limit(2)
            .lean<UserDocument[]>()
            .setOptions(read)
            .exec(),
          op.timeoutMS,
        );
      } catch (error) {
        const refused = error instanceof users.base.mongo.MongoServerError && /collation/i.test(error.message);
        if (!refused) throw error;
        collations = false;
        if (logger && !storedLowercase) {
          logger.warn(
            `[express-password-reset] mongooseUsers: the MongoDB server does not support collations; emails are matched as typed or lowercased, ` +
              `so store "${emailField}" lowercased (lowercase: true) for case-insensitive lookups.`,
          );
        }
      }
    }
    const candidates = [...new Set([email, email.toLowerCase()])];
    return bounded(
      users
        .find({ [emailField]: { $in: candidates } })
        .sort({ _id: 1 })
        .limit(2)
        .lean<UserDocument[]>()
        .setOptions(read)
        .exec(),
      op.timeoutMS,
    );
  };

  const adapter: UserAdapter = {
    async findByEmail(email: string): Promise<User | null> {
      if (typeof email !== 'string') throw new TypeError('mongooseUsers.findByEmail expects a string');
      const found = await lookup(email);
      // Two accounts that differ only in case: the exact spelling wins, so a link keeps pointing at the account it was
      // sent for.
      const doc = found.find((candidate) => valueAt(candidate, emailField) === email) ?? found[0];
      return doc ? toUser(doc) : null;
    },

    async updatePassword(id: string, passwordHash: string): Promise<void> {
      const result = await bounded(
        users
          .updateOne(
            { _id: id },
            // One write: a session check reading the time never sees the new password without it.
            {
              $set: {
                [passwordField]: passwordHash,
                ...(passwordChangedAtField ? { [passwordChangedAtField]: new Date() } : {}),
              },
            },
          )
          .setOptions({ ...op, ...MAJORITY })
          .exec(),
        op.timeoutMS,
      );
      if (result.matchedCount !== 1)
        throw new Error(`mongooseUsers.updatePassword: no ${generic.modelName} with this id`);
    },
  };
  if (emailVerifiedField === undefined) return adapter;
  return {
    ...adapter,
    async markEmailVerified(id: string): Promise<void> {
      const result = await bounded(
        users
          .updateOne({ _id: id }, { $set: { [emailVerifiedField]: true } })
          .setOptions({ ...op, ...MAJORITY })
          .exec(),
        op.timeoutMS,
      );
      if (result.matchedCount !== 1)
        throw new Error(`mongooseUsers.markEmailVerified: no ${generic.modelName} with this id`);
    },
  };
}

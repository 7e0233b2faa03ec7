/** The seam between the router and the app's users. */

/** A user as the router needs to see one. */
export interface User {
  /** Stable id, passed back to `updatePassword` and `revokeTokens`. */
  id: string;
  /** The address reset emails go to. */
  email: string;
  /** Used in email greetings; HTML-escaped wherever it is shown. */
  name?: string;
  /** Picks the email language (e.g. `de`); English when absent or unknown. */
  locale?: string;
}

/** What the router needs of the app's user store: `mongooseUsers()` builds one from a Mongoose model. */
export interface UserAdapter {
  /** The user with this address, or `null`. Should match case-insensitively. */
  findByEmail(email: string): Promise<User | null>;
  /** Stores a new password hash for the user. */
  updatePassword(id: string, passwordHash: string): Promise<void>;
  /**
   * Optional: marks the user's address verified. Called once after each successful reset (using the emailed link or
   * code proved control of the address); a failure is an `error` event (stage `markEmailVerified`), the reset stands.
   */
  markEmailVerified?(id: string): Promise<void>;
}

/**
 * The user directory's storage (a part of the SyncStore, in the same database): the names it
 * learned from verified tokens, read together with the names the store knows from elsewhere
 * (registration; FetchWork's own `users` with MongoDB).
 */
export interface UserProfile {
  id: string;
  /** The best name known: the directory's own, else the account's, else FetchWork's (MongoDB); null when none. */
  name: string | null;
  /**
   * When the directory's own name was carried (the expiry of the token that carried it): a name
   * from an older token never replaces it. 0 when the name came from anywhere else.
   */
  nameVersion: number;
  /** The name every conversation of the user was last brought up to (null: never). */
  appliedName: string | null;
}

export interface UserProfileStore {
  /** One profile per distinct id asked, in that order (an unknown user has name null, version 0). */
  get(ids: readonly string[]): Promise<UserProfile[]>;
  /** Stores a name carried at `version` unless a later version is stored; true when it was stored. */
  saveName(id: string, name: string, version: number): Promise<boolean>;
  /** Records that the user's conversations carry `name` (so a restart does not walk them again). */
  markApplied(id: string, name: string): Promise<void>;
}

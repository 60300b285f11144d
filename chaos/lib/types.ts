/** What the harness and its device workers exchange (plain data: it crosses process boundaries). */

export interface ActionMix {
  send: number;
  edit: number;
  delete: number;
  read: number;
}

export interface DeviceSpec {
  /** e.g. "u03.d1": user 3, device 1. */
  label: string;
  userId: string;
  userName: string;
  token: string;
  /** The users this user has a conversation with. */
  peers: { id: string; name: string }[];
  /** This device's own path to the server (its fault proxy). */
  serverUrl: string;
  seed: number;
  /** How many messages this device sends. */
  messages: number;
  /** Mean pause between two actions. */
  meanPauseMs: number;
  mix: ActionMix;
}

/** What a device did and saw acknowledged locally (the command resolved). */
export interface DeviceRecord {
  label: string;
  userId: string;
  sent: { id: string; content: string; conversation: string }[];
  /** message id → the contents this device gave it, in order. */
  edits: Record<string, string[]>;
  deletes: string[];
  /** Messages this device marked read. */
  reads: string[];
  reloads: number;
  actions: number;
  /** Unexpected errors from commands (a command refused for a known reason is not one). */
  errors: string[];
}

export interface DeviceDigest {
  label: string;
  open: boolean;
  connected: boolean;
  pending: number;
  failed: number;
  messages: number;
  conversations: number;
  messagesHash: string;
  conversationsHash: string;
  sent: number;
}

export interface Checkpoints {
  messages: number | null;
  conversations: number | null;
  /**
   * Recent first: the history walk's cursor per collection (null when it is done or never
   * began). The feed below it is still arriving, so a checkpoint vouches only for what lies at
   * or above it.
   */
  walkBefore?: { messages: number | null; conversations: number | null };
}

export interface DeviceDump {
  label: string;
  userId: string;
  messages: Record<string, unknown>[];
  conversations: Record<string, unknown>[];
  checkpoints: Checkpoints;
  failures: { docId: string; code: string | null; message: string | null }[];
  pending: string[];
  record: DeviceRecord;
}

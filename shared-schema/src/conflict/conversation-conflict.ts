import type { RxConflictHandler, RxConflictHandlerInput } from 'rxdb';
import type { ConversationDoc, Wire } from '../documents';
import { jsonEqual } from './equality';

type WireConversation = Wire<ConversationDoc>;

/** A client sets only a conversation's identity (derived id, participants, job) when creating it. */
export function sameClientConversationState(a: WireConversation, b: WireConversation): boolean {
  return a.id === b.id && a.job === b.job && a._deleted === b._deleted && jsonEqual([...a.participants].sort(), [...b.participants].sort());
}

/** Everything else on a conversation is derived by the server, so its state wins outright. */
export function mergeConversation(master: WireConversation, _local: WireConversation): WireConversation {
  return master;
}

export const conversationConflictHandler: RxConflictHandler<ConversationDoc> = {
  isEqual(a, b) {
    return jsonEqual(a, b);
  },
  resolve(input: RxConflictHandlerInput<ConversationDoc>) {
    return Promise.resolve(mergeConversation(input.realMasterState, input.newDocumentState));
  },
};

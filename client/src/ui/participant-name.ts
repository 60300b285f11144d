import { type ConversationDoc, fallbackParticipantName } from '@fetchwork/shared-schema';

/**
 * What the list, the pane header and the avatar call the other participant: read from the
 * conversation document, so a rename the server streams shows wherever the conversation does.
 */
export function contactName(c: Pick<ConversationDoc, 'participantNames'> & { otherUserId: string }): string {
  return c.participantNames[c.otherUserId] ?? fallbackParticipantName(c.otherUserId);
}

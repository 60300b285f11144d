/**
 * What a participant is called while no name is known for them (docs/protocol.md "Participant
 * names"): derived from the id alone (never from an email, which a stranger must not learn), the
 * same on every device and in every client, and different for two unknown contacts.
 */
export function fallbackParticipantName(userId: string): string {
  return `FetchWork user ${userId.slice(-4)}`;
}

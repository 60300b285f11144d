/**
 * What a refused write says to its author. The server's message is written for developers and
 * logs; codes a user meets in normal use get a sentence of their own, any other code (one this
 * version does not know included) shows the server's message as it is.
 */
const SENTENCES: Readonly<Record<string, string>> = {
  BLOCKED: 'messages cannot pass between you and this person because one of you blocked the other',
  CONVERSATION_LIMIT:
    'you have started several conversations with this person that they have not answered; you can start another once they reply',
};

export function refusalText(failure: { code: string; message: string }): string {
  return Object.hasOwn(SENTENCES, failure.code) ? (SENTENCES[failure.code] as string) : failure.message;
}

import { type MessageDoc, newConversationDoc, newMessageDoc, newMessageId } from '@fetchwork/shared-schema';
import { io } from 'socket.io-client';
import type { TestUser } from './browser';

type PushAnswer = { rejected?: unknown[]; error?: unknown };

/**
 * A long history written the way devices write it (sync:push over a real socket, 200 rows at a
 * time), so a test can have thousands of messages without thousands of REST calls (which are
 * rate limited per address). Conversation k's messages are written after conversation k+1's,
 * so conversation 0 is the most recent. Returns each conversation's id and newest message text.
 */
export async function seedHistory(
  apiUrl: string,
  owner: TestUser,
  partners: readonly TestUser[],
  perConversation: number,
): Promise<{ conversations: { id: string; partner: TestUser; newest: string }[] }> {
  const sockets = new Map<string, ReturnType<typeof io>>();
  const socketOf = async (user: TestUser) => {
    let s = sockets.get(user.id);
    if (!s) {
      s = io(apiUrl, { auth: { token: user.token }, transports: ['websocket'], forceNew: true, reconnection: false });
      sockets.set(user.id, s);
      await new Promise<void>((resolve, reject) => {
        s!.once('connect', () => resolve());
        s!.once('connect_error', reject);
      });
    }
    return s;
  };
  const push = async (user: TestUser, collection: string, rows: object[]) => {
    const socket = await socketOf(user);
    for (let i = 0; i < rows.length; i += 200) {
      const answer = (await socket.timeout(30_000).emitWithAck('sync:push', { collection, rows: rows.slice(i, i + 200) })) as PushAnswer;
      if (answer.error || (answer.rejected && answer.rejected.length > 0)) throw new Error(`seed push refused: ${JSON.stringify(answer)}`);
    }
  };
  try {
    const at = new Date().toISOString();
    const conversations = partners.map((partner) => ({
      partner,
      doc: newConversationDoc({ participants: [owner.id, partner.id], job: null, at }),
    }));
    await push(
      owner,
      'conversations',
      conversations.map((c) => ({ newDocumentState: { ...c.doc, _deleted: false } })),
    );
    const out: { id: string; partner: TestUser; newest: string }[] = [];
    for (let k = conversations.length - 1; k >= 0; k--) {
      const { partner, doc } = conversations[k]!;
      const mine: MessageDoc[] = [];
      const theirs: MessageDoc[] = [];
      const message = (sender: TestUser, recipient: TestUser, content: string) =>
        newMessageDoc({
          id: newMessageId(),
          conversation: doc.id,
          sender: sender.id,
          recipient: recipient.id,
          content,
          at: new Date().toISOString(),
        });
      for (let i = 0; i < perConversation - 1; i++) {
        if (i % 2 === 0) mine.push(message(owner, partner, `history ${k}/${i} to ${partner.name}`));
        else theirs.push(message(partner, owner, `history ${k}/${i} from ${partner.name}`));
      }
      await push(
        owner,
        'messages',
        mine.map((m) => ({ newDocumentState: { ...m, _deleted: false } })),
      );
      await push(
        partner,
        'messages',
        theirs.map((m) => ({ newDocumentState: { ...m, _deleted: false } })),
      );
      // Written last, so it is the conversation's last message.
      const newest = `latest from ${partner.name}`;
      await push(partner, 'messages', [{ newDocumentState: { ...message(partner, owner, newest), _deleted: false } }]);
      out.unshift({ id: doc.id, partner, newest });
    }
    return { conversations: out };
  } finally {
    for (const s of sockets.values()) s.close();
  }
}

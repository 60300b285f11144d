import { type ClientSocket, connect, newUserId, push, type TestServer, tokenFor } from './test-server';
import { draftConversation } from './docs';

export interface Party {
  id: string;
  token: string;
  socket: ClientSocket;
}

/** Two users (A, B) with a conversation created over the socket, and a third (C) who is in none. */
export async function threeUsers(server: TestServer) {
  const make = async (): Promise<Party> => {
    const id = newUserId();
    const token = tokenFor(id);
    return { id, token, socket: await connect(server.url, token) };
  };
  const a = await make();
  const b = await make();
  const c = await make();
  const conversation = draftConversation(a.id, b.id);
  const ack = await push(a.socket, { collection: 'conversations', rows: [{ newDocumentState: conversation }] });
  if (ack.error || ack.rejected.length > 0) throw new Error(`conversation create failed: ${JSON.stringify(ack)}`);
  return { a, b, c, conversationId: conversation.id, close: () => {
      for (const p of [a, b, c]) p.socket.close();
    },
  };
}

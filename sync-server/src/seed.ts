import type { AccountService } from './auth/account-service';
import type { Logger } from './logger';
import type { MessagingService } from './messaging/messaging-service';
import type { SyncStore } from './store/port';

/** Demo accounts for `npm start`; the README and the sign-in screen show them. */
export const DEMO_USERS = [
  { id: '64b000000000000000000a11', name: 'Alice Client', email: 'alice@fetchwork.dev', password: 'fetchwork-demo' },
  { id: '64b000000000000000000b22', name: 'Bob Freelancer', email: 'bob@fetchwork.dev', password: 'fetchwork-demo' },
  { id: '64b000000000000000000c33', name: 'Carol Designer', email: 'carol@fetchwork.dev', password: 'fetchwork-demo' },
] as const;

export async function seedDemoUsers(store: SyncStore, accounts: AccountService, messaging: MessagingService, log: Logger): Promise<void> {
  const [alice, bob] = DEMO_USERS;
  let created = 0;
  for (const u of DEMO_USERS) {
    if (await store.getUserByEmail(u.email)) continue;
    await accounts.createConfirmed({ email: u.email, password: u.password, name: u.name }, u.id);
    created++;
  }
  if (created === 0) return;
  const asAlice = { id: alice.id, name: alice.name, email: alice.email, expiresAt: null, sessionId: null };
  const { conversation } = await messaging.createConversation(asAlice, bob.id, null);
  await messaging.sendMessage(asAlice, conversation.id, { content: 'Hi Bob! Welcome to FetchWork Messaging.' });
  log.info({ users: DEMO_USERS.map((u) => u.email) }, 'seeded demo users');
}

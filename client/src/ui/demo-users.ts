/**
 * The demo accounts the sync server seeds for `npm start` (sync-server/src/seed.ts). The client
 * may not import the server, so they are repeated here; the e2e suite signs in with what this
 * screen shows, which catches the two lists drifting apart.
 */
export const DEMO_USERS = [
  { id: '64b000000000000000000a11', name: 'Alice Client', email: 'alice@fetchwork.dev', password: 'fetchwork-demo' },
  { id: '64b000000000000000000b22', name: 'Bob Freelancer', email: 'bob@fetchwork.dev', password: 'fetchwork-demo' },
  { id: '64b000000000000000000c33', name: 'Carol Designer', email: 'carol@fetchwork.dev', password: 'fetchwork-demo' },
] as const;

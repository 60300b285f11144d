import { expect, test } from 'vitest';
import { HistoryStore } from '../src/db/history-store';
import { testDatabases } from './support/test-database';

const databases = testDatabases();

test("a page's cursor is recorded only where the walk still stands: a walk begun meanwhile keeps its own", async () => {
  const history = new HistoryStore(await databases.open());
  await history.begin('messages', { before: 100, remaining: 50 });
  expect(await history.advance('messages', { before: 60, remaining: 30 }, 100)).toBe(true);
  expect(await history.state('messages')).toEqual({ before: 60, remaining: 30, total: 50 });

  // A page that began at 100 is not where the walk stands any more.
  expect(await history.advance('messages', { before: 20, remaining: 10 }, 100)).toBe(false);
  expect(await history.state('messages')).toEqual({ before: 60, remaining: 30, total: 50 });

  // A new bootstrap began another walk: the old walk's next cursor does not overwrite it.
  await history.begin('messages', { before: 500, remaining: 400 });
  expect(await history.advance('messages', { before: 20, remaining: 10 }, 60)).toBe(false);
  expect(await history.state('messages')).toEqual({ before: 500, remaining: 400, total: 400 });

  // Without `from` (the server lost the position), the walk ends whatever it stood at.
  expect(await history.advance('messages', null)).toBe(true);
  expect(await history.state('messages')).toEqual({ before: null, remaining: 0, total: 400 });
});

test('no walk, no cursor: a replica synced whole before recent-first records nothing', async () => {
  const history = new HistoryStore(await databases.open());
  expect(await history.advance('conversations', { before: 5, remaining: 1 }, 10)).toBe(false);
  expect(await history.state('conversations')).toBeNull();
});

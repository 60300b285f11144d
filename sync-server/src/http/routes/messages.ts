import {
  bulkBodySchema,
  conversationIdSchema,
  createConversationBodySchema,
  editMessageBodySchema,
  messageIdSchema,
  searchQuerySchema,
  sendMessageBodySchema,
} from '@fetchwork/shared-schema';
import { Router } from 'express';
import { z } from 'zod';
import { currentUser } from '../../auth/http-auth';
import type { MessagingService } from '../../messaging/messaging-service';
import { parse, route } from '../respond';

const listMessagesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  before: z.coerce.number().int().min(1).optional(),
});

/**
 * FetchWork's five inbox endpoints (same paths, `{ data }` envelope) plus mark-read, edit,
 * delete, bulk and search. Validate → command → present; the rules live in MessagingService.
 */
export function messagesRouter(messaging: MessagingService): Router {
  const r = Router();
  // The user directory learns the caller's current name from every request's token.
  r.use((req, _res, next) => {
    messaging.noteUser(currentUser(req));
    next();
  });

  r.get(
    '/conversations',
    route(async (req, res) => {
      res.json({ data: await messaging.listConversations(currentUser(req)) });
    }),
  );

  r.post(
    '/conversations',
    route(async (req, res) => {
      const body = parse(createConversationBodySchema, req.body ?? {});
      const { conversation, created } = await messaging.createConversation(currentUser(req), body.participantId, body.jobId ?? null);
      res.status(created ? 201 : 200).json({ data: conversation });
    }),
  );

  r.get(
    '/conversations/:id',
    route(async (req, res) => {
      const id = parse(conversationIdSchema, req.params.id);
      const q = parse(listMessagesQuery, req.query);
      const messages = await messaging.listMessages(currentUser(req), id, { limit: q.limit ?? 200, beforeSeq: q.before });
      res.json({ data: messages });
    }),
  );

  r.post(
    '/conversations/:id/messages',
    route(async (req, res) => {
      const id = parse(conversationIdSchema, req.params.id);
      const body = parse(sendMessageBodySchema, req.body ?? {});
      res.status(201).json({ data: await messaging.sendMessage(currentUser(req), id, body) });
    }),
  );

  r.post(
    '/conversations/:id/read',
    route(async (req, res) => {
      const id = parse(conversationIdSchema, req.params.id);
      res.json({ data: await messaging.markConversationRead(currentUser(req), id) });
    }),
  );

  r.get(
    '/unread-count',
    route(async (req, res) => {
      res.json({ data: { count: await messaging.unreadCount(currentUser(req)) } });
    }),
  );

  r.get(
    '/search',
    route(async (req, res) => {
      const q = parse(searchQuerySchema, req.query);
      res.json({ data: await messaging.search(currentUser(req), q.q, q.limit ?? 50) });
    }),
  );

  r.post(
    '/bulk',
    route(async (req, res) => {
      const body = parse(bulkBodySchema, req.body ?? {});
      const { updated, rejected } = await messaging.bulk(currentUser(req), body.action, body.messageIds);
      res.json({ data: { updated, rejected } });
    }),
  );

  r.post(
    '/:messageId/read',
    route(async (req, res) => {
      const id = parse(messageIdSchema, req.params.messageId);
      res.json({ data: await messaging.markRead(currentUser(req), id) });
    }),
  );

  r.patch(
    '/:messageId',
    route(async (req, res) => {
      const id = parse(messageIdSchema, req.params.messageId);
      const body = parse(editMessageBodySchema, req.body ?? {});
      res.json({ data: await messaging.editMessage(currentUser(req), id, body.content) });
    }),
  );

  r.delete(
    '/:messageId',
    route(async (req, res) => {
      const id = parse(messageIdSchema, req.params.messageId);
      res.json({ data: await messaging.deleteMessage(currentUser(req), id) });
    }),
  );

  return r;
}

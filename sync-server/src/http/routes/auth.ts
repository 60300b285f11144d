import { loginBodySchema, registerBodySchema } from '@fetchwork/shared-schema';
import { Router } from 'express';
import type { AccountService } from '../../auth/account-service';
import { parse, route } from '../respond';

export function authRouter(accounts: AccountService): Router {
  const r = Router();
  r.post('/register', route(async (req, res) => {
    res.status(201).json({ data: await accounts.register(parse(registerBodySchema, req.body ?? {})) });
  }));
  r.post('/login', route(async (req, res) => {
    res.json({ data: await accounts.login(parse(loginBodySchema, req.body ?? {})) });
  }));
  return r;
}

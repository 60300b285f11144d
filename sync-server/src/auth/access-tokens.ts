import type { Revocations } from './sessions/revocations';
import { type TokenPolicy, type VerifyResult, verifyToken } from './tokens';

/** The token check every entry point uses (REST, files, socket handshake and renewal): signature, claims, and whether its session ended. */
export class AccessTokens {
  constructor(
    readonly policy: TokenPolicy,
    readonly revocations: Revocations,
  ) {}

  verify(token: string | undefined | null): VerifyResult {
    const result = verifyToken(token, this.policy);
    if (result.ok && this.revocations.isRevoked(result.user.sessionId)) return { ok: false, reason: 'revoked' };
    return result;
  }
}

import {
  PROTOCOL_VERSION,
  type ProtocolVersionVerdict,
  protocolVersionVerdict,
  UNSUPPORTED_VERSION_CONNECT_ERROR,
  UPGRADE_REQUIRED_CONNECT_ERROR,
  type UpgradeRequiredData,
} from '@fetchwork/shared-schema';

/** An Error as Socket.io turns it into `connect_error`: its message, and `data` for the client. */
export type HandshakeError = Error & { data: UpgradeRequiredData | { code: 'VALIDATION_FAILED'; message: string; maxVersion: number } };

/**
 * The handshake's protocol version (`auth.protocolVersion`), checked before the token: the server
 * serves PROTOCOL_VERSION and the one before; an older client is told to upgrade (it cannot
 * succeed by retrying), an unknown one (newer than this server, or not a number) is refused so it
 * retries after the server is updated. A handshake without a version is from before versioning
 * and speaks version 1.
 */
export function checkProtocolVersion(
  auth: unknown,
  current: number = PROTOCOL_VERSION,
): { ok: true; version: number } | { ok: false; error: HandshakeError } {
  const sent = typeof auth === 'object' && auth !== null ? (auth as { protocolVersion?: unknown }).protocolVersion : undefined;
  const verdict = protocolVersionVerdict(sent, current);
  if (verdict.ok) return verdict;
  return { ok: false, error: handshakeError(verdict) };
}

function handshakeError(verdict: Exclude<ProtocolVersionVerdict, { ok: true }>): HandshakeError {
  if (verdict.reason === 'upgrade-required') {
    const error = new Error(UPGRADE_REQUIRED_CONNECT_ERROR) as HandshakeError;
    error.data = {
      code: 'UPGRADE_REQUIRED',
      message: `protocol version ${verdict.version} is no longer served (oldest: ${verdict.minVersion}); load the new version of the app`,
      minVersion: verdict.minVersion,
    };
    return error;
  }
  const error = new Error(UNSUPPORTED_VERSION_CONNECT_ERROR) as HandshakeError;
  error.data = {
    code: 'VALIDATION_FAILED',
    message: `protocolVersion must be an integer up to ${verdict.maxVersion}, this server's version`,
    maxVersion: verdict.maxVersion,
  };
  return error;
}

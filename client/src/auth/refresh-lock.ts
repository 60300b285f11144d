/**
 * The Web Lock every refresh of the session cookie runs under, in the tabs (token-source.ts) and
 * in the service worker (sw/background-send.ts): two refreshes with one cookie at once would look
 * like the reuse of a rotated credential and end the session.
 */
export const SESSION_REFRESH_LOCK = 'fetchwork-session-refresh';

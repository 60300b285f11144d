import type { MessageStatus } from '../inbox-api';

const LABEL: Record<MessageStatus, string> = {
  pending: 'Pending: not sent yet',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  failed: 'Not sent',
};

/** Pending clock, one tick sent, two grey ticks delivered, two blue ticks read, red mark failed. */
export function StatusTicks({ status }: { status: MessageStatus }) {
  return (
    <span className={`ticks ticks-${status}`} role="img" aria-label={LABEL[status]} title={LABEL[status]} data-status={status}>
      {status === 'pending' && (
        <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
          <circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" strokeWidth="1.6" />
          <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" />
        </svg>
      )}
      {status === 'sent' && (
        <svg viewBox="0 0 16 16" width="16" height="14" aria-hidden="true">
          <path d="M3 8.5l3 3 7-7" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
      )}
      {(status === 'delivered' || status === 'read') && (
        <svg viewBox="0 0 20 16" width="20" height="14" aria-hidden="true">
          <path d="M1.5 8.5l3 3 7-7" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
          <path d="M8.5 11.5l7-7" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
      )}
      {status === 'failed' && (
        <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
          <circle cx="8" cy="8" r="7" fill="currentColor" />
          <path d="M8 4v5M8 11.5v.5" stroke="#fff" strokeWidth="1.8" strokeLinecap="round" />
        </svg>
      )}
    </span>
  );
}

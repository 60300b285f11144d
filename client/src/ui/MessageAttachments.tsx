import { type Attachment, fileIdOfAttachmentUrl, PREVIEWABLE_IMAGE_TYPES, THUMBNAIL_TYPES } from '@fetchwork/shared-schema';
import { useState } from 'react';
import { of } from 'rxjs';
import { formatBytes } from '../files/file-limits';
import { pendingFileId } from '../files/pending-attachments';
import { useInbox, useObservable } from '../hooks';
import type { FileUploadView, MessageView } from '../inbox-api';
import { typeLabel } from './AttachmentChips';
import { FileIcon } from './FileIcons';
import { openAttachment } from './openAttachment';
import { useFilePreview } from './useFilePreview';

interface Props {
  message: MessageView;
  /** The roving tab stop of the list: 0 on the active message, -1 elsewhere. */
  tabIndex: number;
}

/** A message's files: name, size, type, a thumbnail for images and PDFs, and for unsent ones their upload. */
export function MessageAttachments({ message: m, tabIndex }: Props) {
  const inbox = useInbox();
  const waiting = m.mine && m.attachments.some((a) => pendingFileId(a.url) !== null);
  const uploads = useObservable<FileUploadView[]>(() => (waiting ? inbox.uploads$(m.id) : of([])), [], [inbox, m.id, waiting]);
  return (
    <ul className="attachments" aria-label="Files">
      {m.attachments.map((a) => {
        const queuedId = pendingFileId(a.url);
        const upload = queuedId ? (uploads.find((u) => u.fileId === queuedId) ?? null) : null;
        return <AttachmentItem key={a.url} message={m} attachment={a} queued={queuedId !== null} upload={upload} tabIndex={tabIndex} />;
      })}
    </ul>
  );
}

interface ItemProps {
  message: MessageView;
  attachment: Attachment;
  queued: boolean;
  upload: FileUploadView | null;
  tabIndex: number;
}

function AttachmentItem({ message: m, attachment: a, queued, upload, tabIndex }: ItemProps) {
  const inbox = useInbox();
  const [problem, setProblem] = useState<string | null>(null);
  const image = PREVIEWABLE_IMAGE_TYPES.includes(a.mimeType);
  // A PDF shows its first page too, but opening it still downloads it (openAttachment).
  const preview = useFilePreview(m.id, a, THUMBNAIL_TYPES.includes(a.mimeType));
  const onServer = fileIdOfAttachmentUrl(a.url) !== null;
  const external = !queued && !onServer && /^https?:\/\//.test(a.url);
  const label = `${a.filename}, ${formatBytes(a.size)}, ${typeLabel(a.mimeType, a.filename)}`;

  const open = () => {
    setProblem(null);
    openAttachment(inbox, m.id, a).catch((err) =>
      setProblem(err instanceof Error ? `Could not open the file: ${err.message}` : 'Could not open the file'),
    );
  };

  const body = (
    <>
      {preview ? (
        <img className={image ? 'attachment-thumb' : 'attachment-thumb attachment-thumb-page'} src={preview} alt="" />
      ) : (
        <span className="attachment-icon" aria-hidden="true">
          <FileIcon image={image} />
        </span>
      )}
      <span className="attachment-text">
        <span className="attachment-name">{a.filename}</span>
        <span className="attachment-meta">
          {formatBytes(a.size)} · {typeLabel(a.mimeType, a.filename)}
        </span>
      </span>
    </>
  );

  return (
    <li className={`attachment${upload?.state === 'failed' ? ' attachment-failed' : ''}`}>
      {onServer ? (
        <button
          type="button"
          className="attachment-open"
          tabIndex={tabIndex}
          onClick={open}
          aria-label={`${image ? 'Open' : 'Download'} ${label}`}
        >
          {body}
        </button>
      ) : external ? (
        <a
          className="attachment-open"
          href={a.url}
          target="_blank"
          rel="noopener noreferrer"
          tabIndex={tabIndex}
          aria-label={`Open ${label}`}
        >
          {body}
        </a>
      ) : (
        <div className="attachment-open">{body}</div>
      )}
      {queued && <UploadState message={m} attachment={a} upload={upload} tabIndex={tabIndex} />}
      {problem && (
        <p className="attachment-problem" role="alert">
          {problem}
        </p>
      )}
    </li>
  );
}

function UploadState({
  message: m,
  attachment: a,
  upload,
  tabIndex,
}: {
  message: MessageView;
  attachment: Attachment;
  upload: FileUploadView | null;
  tabIndex: number;
}) {
  const inbox = useInbox();
  const fileId = pendingFileId(a.url)!;
  const remove = () => void inbox.cancelUpload(m.id, fileId).catch(() => undefined);
  if (!m.mine) return null;
  if (!upload) {
    return (
      <div className="upload-state upload-failed" role="alert">
        <span>This file is no longer on this device.</span>
        <button type="button" className="btn btn-small" tabIndex={tabIndex} onClick={remove}>
          Remove file
        </button>
      </div>
    );
  }
  if (upload.state === 'failed') {
    return (
      <div className="upload-state upload-failed" role="alert">
        <span>Not sent: {upload.error?.message ?? 'the server refused this file'}</span>
        <button type="button" className="btn btn-small" tabIndex={tabIndex} onClick={remove} aria-label={`Remove ${a.filename}`}>
          Remove file
        </button>
        <button type="button" className="btn btn-small btn-danger" tabIndex={tabIndex} onClick={() => void inbox.discardMessage(m.id)}>
          Discard message
        </button>
      </div>
    );
  }
  const percent = a.size > 0 ? Math.round((Math.min(upload.bytesSent, a.size) / a.size) * 100) : 100;
  const text = upload.state === 'done' ? 'Uploaded' : upload.state === 'uploading' ? `Uploading ${percent}%` : 'Waiting to upload';
  return (
    <div className="upload-state">
      <div
        className="upload-progress"
        role="progressbar"
        aria-label={`Upload of ${a.filename}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={text}
      >
        <span style={{ width: `${percent}%` }} />
      </div>
      <span className="upload-text">{text}</span>
      {upload.state !== 'done' && (
        <button type="button" className="btn btn-small" tabIndex={tabIndex} onClick={remove} aria-label={`Cancel upload of ${a.filename}`}>
          Cancel
        </button>
      )}
    </div>
  );
}

import type { Worker } from 'node:worker_threads';

/**
 * Asks one of the store's threads to close its connection and end (it answers 'close' by doing
 * so); a thread that does not end within `graceMs` (a statement under way that does not finish)
 * is stopped.
 */
export async function stopThread(worker: Worker, graceMs = 5_000): Promise<void> {
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage('close');
  const timer = setTimeout(() => void worker.terminate(), graceMs);
  await exited;
  clearTimeout(timer);
}

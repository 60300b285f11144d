import { type ChildProcess, fork } from 'node:child_process';

/**
 * Request/response RPC over Node's IPC channel, shared by the chaos harness (device workers, each
 * its own process, heap, fake IndexedDB and RxDB collection budget) and the benchmarks (servers
 * under test and load generators on their own event loops). A worker whose parent goes away
 * exits, and an interrupted parent kills its workers, so no process outlives a run.
 */

type Handler = (args: any) => unknown | Promise<unknown>;

interface Request {
  rpc: number;
  cmd: string;
  args: unknown;
}
interface Response {
  rpc: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

export interface Worker {
  readonly name: string;
  readonly pid: number;
  call<T = unknown>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T>;
  /** Asks the child to exit, then SIGKILLs it (by its pid) if it has not after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  // An interrupted parent exits, and the exit hook above kills its workers.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
}

/** Forks a TypeScript module (run through tsx) that calls `serveRpc`. */
export async function startWorker(entry: string, options: { name: string; execArgv?: string[]; env?: NodeJS.ProcessEnv }): Promise<Worker> {
  installExitHook();
  const child = fork(entry, [], {
    execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  live.add(child);
  let next = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      for (const p of pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`${options.name}: exited (code ${code}, signal ${signal})`));
      }
      pending.clear();
      resolve();
    }),
  );
  child.on('message', (m: Response) => {
    const p = pending.get(m.rpc);
    if (!p) return;
    pending.delete(m.rpc);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(`${options.name}: ${m.error}`));
  });
  const worker: Worker = {
    name: options.name,
    pid: child.pid ?? -1,
    call<T>(cmd: string, args?: unknown, timeoutMs = 600_000): Promise<T> {
      if (child.exitCode !== null || !child.connected) return Promise.reject(new Error(`${options.name}: not running`));
      const rpc = next++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(rpc);
          reject(new Error(`${options.name}: ${cmd} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(rpc, { resolve: resolve as (v: unknown) => void, reject, timer });
        child.send({ rpc, cmd, args } satisfies Request);
      });
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        await Promise.race([worker.call('exit', undefined, graceMs), exited]);
      } catch {
        // fall through to the kill
      }
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
  await worker.call('ping', undefined, 60_000);
  return worker;
}

/** Child side: answers the parent's calls; `exit` runs `onExit` and ends the process. */
export function serveRpc(handlers: Record<string, Handler>, onExit?: () => Promise<void> | void): void {
  if (!process.send) throw new Error('serveRpc needs an IPC channel (start this file with startWorker)');
  const reply = (m: Response) => {
    if (process.connected) process.send?.(m);
  };
  let exiting = false;
  const exit = async () => {
    if (exiting) return;
    exiting = true;
    try {
      await onExit?.();
    } finally {
      process.exit(0);
    }
  };
  process.on('disconnect', () => void exit());
  process.on('message', async (m: Request) => {
    if (m.cmd === 'ping') return reply({ rpc: m.rpc, ok: true, value: 'pong' });
    if (m.cmd === 'exit') {
      reply({ rpc: m.rpc, ok: true });
      return void exit();
    }
    const h = handlers[m.cmd];
    if (!h) return reply({ rpc: m.rpc, ok: false, error: `unknown command ${m.cmd}` });
    try {
      reply({ rpc: m.rpc, ok: true, value: await h(m.args) });
    } catch (err) {
      reply({ rpc: m.rpc, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  });
}

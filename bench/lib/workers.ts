import { fileURLToPath } from 'node:url';
import { startWorker, type Worker } from '../../chaos/lib/ipc';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

/**
 * Extra flags for server hosts: BENCH_SERVER_PROF=<dir> writes a V8 CPU profile of every server
 * host into <dir> (summarise with `npx tsx bench/lib/profile-summary.ts <file>`);
 * BENCH_SERVER_FLAGS adds any Node flags (e.g. `--trace-gc`).
 */
function profileFlags(): string[] {
  const dir = process.env.BENCH_SERVER_PROF;
  const extra = process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? [];
  return [...(dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=250'] : []), ...extra];
}

/** A child process hosting one server under test (with --expose-gc for memory readings); `env`: e.g. its own BENCH_SERVER_SRC. */
export function startServerHost(name = 'server-host', env?: NodeJS.ProcessEnv): Promise<Worker> {
  return startWorker(here('./server-host.ts'), { name, execArgv: ['--expose-gc', ...profileFlags()], env });
}

/** A child process generating load with lightweight protocol clients. */
export function startLoadGen(name = 'load-gen'): Promise<Worker> {
  return startWorker(here('./load-gen.ts'), { name, execArgv: ['--max-old-space-size=4096'] });
}

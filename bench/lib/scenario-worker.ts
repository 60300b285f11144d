/** Child process running one scenario (its own heap, RxDB collection count and event loop). */
import { serveRpc } from '../../chaos/lib/ipc';
import type { Mode, ScenarioResult } from './report';

// RxDB's Dexie storage prints an "Open Core" advertisement on first use: keep progress readable.
for (const level of ['log', 'warn', 'info'] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    const text = args.map(String).join(' ');
    if (
      /Open Core|rxdb\.info\/premium|premium plugins|setPremiumFlag|^-{20,}$|Dexie\.js based RxStorage|enhance performance and reliability/.test(
        text,
      )
    )
      return;
    original(...args);
  };
}

serveRpc({
  async run(args: { name: string; mode: Mode }): Promise<ScenarioResult> {
    const mod = (await import(`../scenarios/${args.name}.ts`)) as {
      run(ctx: { mode: Mode; log(l: string): void }): Promise<ScenarioResult>;
    };
    return mod.run({ mode: args.mode, log: (l) => console.log(`[${args.name}] ${l}`) });
  },
});

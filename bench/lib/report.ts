import type { MachineInfo } from './machine';
import type { Summary } from './stats';

export type Mode = 'full' | 'quick' | 'smoke';

export interface Ctx {
  mode: Mode;
  log(line: string): void;
}

/** One line of the results table: a figure of ours next to a baseline of the same run. */
export interface Row {
  scenario: string;
  figure: string;
  ours: string;
  baseline: string;
  /** ours ÷ baseline of the figure the target is about (null when not measurable). */
  ratio: number | null;
  target: string;
  /** null: no target for this row. */
  met: boolean | null;
  /** Marks rows that are detail, printed in the second table. */
  detail?: boolean;
}

export interface ScenarioResult {
  scenario: string;
  rows: Row[];
  details: Record<string, unknown>;
  notes: string[];
  durationMs: number;
  /** 1-minute load average when the scenario started and ended (set by the runner). */
  load?: { start: number; end: number };
}

export interface RunResult {
  mode: Mode;
  command: string;
  machine: MachineInfo;
  machineAfter: MachineInfo;
  startedAt: string;
  durationMs: number;
  scenarios: ScenarioResult[];
  rows: Row[];
  errors: { scenario: string; error: string }[];
}

export const ms = (x: number) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) : 'n/a');
export const triple = (s: Summary) => `${ms(s.p50)} / ${ms(s.p95)} / ${ms(s.p99)} ms`;
export const num = (x: number, digits = 0) =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';
export const ratioOf = (ours: number, baseline: number): number | null =>
  Number.isFinite(ours) && Number.isFinite(baseline) && baseline > 0 ? Number((ours / baseline).toFixed(3)) : null;

function cell(s: string) {
  return s.replace(/\|/g, '\\|');
}

export function markdownTable(rows: Row[]): string {
  const head = '| figure | ours | baseline | ratio (ours ÷ baseline) | target | met |\n| --- | --- | --- | --- | --- | --- |';
  const body = rows
    .map((r) =>
      [
        r.figure,
        r.ours,
        r.baseline,
        r.ratio === null ? 'n/a' : r.ratio.toFixed(2),
        r.target || '—',
        r.met === null ? '—' : r.met ? 'yes' : '**no**',
      ]
        .map(cell)
        .join(' | '),
    )
    .map((l) => `| ${l} |`)
    .join('\n');
  return `${head}\n${body}`;
}

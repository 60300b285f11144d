import { cpus, freemem, loadavg, totalmem } from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
  loadavg: [number, number, number];
  memGb: number;
  freeGb: number;
  platform: string;
  at: string;
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  const [l1, l5, l15] = loadavg();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    node: process.version,
    loadavg: [Number(l1!.toFixed(2)), Number(l5!.toFixed(2)), Number(l15!.toFixed(2))],
    memGb: Number((totalmem() / 2 ** 30).toFixed(1)),
    freeGb: Number((freemem() / 2 ** 30).toFixed(1)),
    platform: `${process.platform}-${process.arch}`,
    at: new Date().toISOString(),
  };
}

export function machineLine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} cores, Node ${m.node}, load average ${m.loadavg.join(' / ')} (1/5/15 min), ${m.memGb} GB RAM, ${m.platform}`;
}

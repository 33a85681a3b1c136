/**
 * CPU and memory of a process tree, from one `ps -e -o pid= -o ppid= -o pcpu= -o rss=
 * -o time=` of the host. Pure. `pcpu` is ps's figure: CPU time over the process's
 * lifetime, in percent of one CPU; RSS is summed over the tree (shared pages count once
 * per process, so it can exceed what the tree really uses).
 */

export interface ProcRow {
  pid: number;
  ppid: number;
  cpuPercent: number;
  rssKb: number;
  cpuSeconds: number;
}

export interface TreeUsage {
  processes: number;
  /** Sum of the tree's ps %CPU (lifetime average; 100 = one CPU). */
  cpuPercent: number;
  /** CPU time used so far by the processes alive now, in seconds. */
  cpuSeconds: number;
  rssMb: number;
}

/** `[DD-]HH:MM:SS` or `MM:SS` → seconds. */
export function parseCpuTime(text: string): number {
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(text.trim());
  if (!m) return 0;
  return Number(m[1] ?? 0) * 86_400 + Number(m[2] ?? 0) * 3_600 + Number(m[3]) * 60 + Number(m[4]);
}

export function parsePs(text: string): ProcRow[] {
  const rows: ProcRow[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    const [pid, ppid, pcpu, rss, time] = f;
    if (!/^\d+$/.test(pid!) || !/^\d+$/.test(ppid!)) continue;
    rows.push({
      pid: Number(pid),
      ppid: Number(ppid),
      cpuPercent: Number.parseFloat(pcpu!) || 0,
      rssKb: Number.parseInt(rss!, 10) || 0,
      cpuSeconds: parseCpuTime(time!),
    });
  }
  return rows;
}

/** Usage of `root` and all its descendants; undefined when `root` is not running. */
export function treeUsage(rows: readonly ProcRow[], root: number): TreeUsage | undefined {
  const children = new Map<number, ProcRow[]>();
  let top: ProcRow | undefined;
  for (const r of rows) {
    if (r.pid === root) top = r;
    const list = children.get(r.ppid);
    if (list) list.push(r);
    else children.set(r.ppid, [r]);
  }
  if (!top) return undefined;
  const usage = { processes: 0, cpuPercent: 0, cpuSeconds: 0, rssKb: 0 };
  const seen = new Set<number>();
  const stack = [top];
  while (stack.length > 0) {
    const r = stack.pop()!;
    if (seen.has(r.pid)) continue;
    seen.add(r.pid);
    usage.processes += 1;
    usage.cpuPercent += r.cpuPercent;
    usage.cpuSeconds += r.cpuSeconds;
    usage.rssKb += r.rssKb;
    stack.push(...(children.get(r.pid) ?? []));
  }
  return {
    processes: usage.processes,
    cpuPercent: Math.round(usage.cpuPercent * 10) / 10,
    cpuSeconds: usage.cpuSeconds,
    rssMb: Math.round((usage.rssKb / 1024) * 10) / 10,
  };
}

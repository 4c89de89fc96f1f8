import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The parts of V8's .cpuprofile (Chrome DevTools' format) that self time needs. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  /** Microseconds since the previous sample. */
  timeDeltas: number[];
}

export interface ProfileEntry {
  function: string;
  where: string;
  selfMs: number;
  /** Share of the process's busy time (samples that were not `(idle)`). */
  percent: number;
}

export interface ProfileSummary {
  process: string;
  file: string;
  busyMs: number;
  idleMs: number;
  top: ProfileEntry[];
  /** Self time grouped by package (node_modules/<pkg>), the relay's own code, Node internals, GC. */
  byModule: { module: string; selfMs: number; percent: number }[];
}

/** Makes a script URL short: the package and file for dependencies, the path under dist/ for the relay. */
function shortWhere(url: string, line: number): { where: string; module: string } {
  if (url.startsWith('wasm://')) return { where: 'wasm', module: 'wasm (the Prisma query compiler)' };
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length);
    const parts = rest.split('/');
    const pkg = parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
    return { where: `${rest}:${line}`, module: pkg };
  }
  const dist = path.lastIndexOf('/dist/');
  if (dist >= 0) {
    const rest = path.slice(dist + 1);
    return { where: `${rest}:${line}`, module: rest.startsWith('dist/generated/') ? 'relay: generated prisma client' : 'relay: dist/' };
  }
  if (path.startsWith('node:')) return { where: `${path}:${line}`, module: 'node internals' };
  return { where: `${path}:${line}`, module: path };
}

export function summarizeProfile(file: string, processName: string, topN = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);
  /**
   * Native code (a syscall wrapper, a builtin) and Node's own JavaScript are told by the nearest frame of a
   * package or of the relay that called them: `writev` under pg's connection is a Postgres round trip.
   */
  const callerOf = (id: number): { url: string; line: number } | undefined => {
    for (let at = parentOf.get(id); at !== undefined; at = parentOf.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (frame.url && !frame.url.startsWith('node:')) return { url: frame.url, line: frame.lineNumber + 1 };
    }
    return undefined;
  };
  const selfUs = new Map<number, number>();
  // timeDeltas[i + 1] is how long the sample i stayed on top of the stack (the last one gets the profile's end).
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1]! : 0;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const fns = new Map<string, { function: string; where: string; us: number }>();
  const modules = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const url = node.callFrame.url;
    let { where, module } = url ? shortWhere(url, node.callFrame.lineNumber + 1) : { where: '', module: '' };
    if (!name.startsWith('(') && (!url || url.startsWith('node:'))) {
      const caller = callerOf(id);
      const from = caller ? shortWhere(caller.url, caller.line) : undefined;
      where = `${url ? where : 'native'}${from ? ` ← ${from.where}` : ''}`;
      module = from ? `${from.module} (Node/native code it called)` : url ? 'node internals' : '(native)';
    }
    const key = `${name}@${where}`;
    const entry = fns.get(key) ?? { function: name, where, us: 0 };
    entry.us += us;
    fns.set(key, entry);
    const moduleName = name === '(garbage collector)' ? '(garbage collector)' : name === '(program)' ? '(program)' : module;
    modules.set(moduleName, (modules.get(moduleName) ?? 0) + us);
  }
  const pct = (us: number) => Math.round((1000 * us) / Math.max(1, busyUs)) / 10;
  const ms = (us: number) => Math.round(us / 100) / 10;
  return {
    process: processName,
    file,
    busyMs: ms(busyUs),
    idleMs: ms(idleUs),
    top: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => ({ function: e.function, where: e.where, selfMs: ms(e.us), percent: pct(e.us) })),
    byModule: [...modules.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([module, us]) => ({ module, selfMs: ms(us), percent: pct(us) })),
  };
}

/** Profiles Node wrote into `dir` (named CPU.<date>.<time>.<pid>.…), matched to the bench's process names by pid. */
export function summarizeProfiles(dir: string, nameOfPid: Map<number, string>): ProfileSummary[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return [];
  }
  return files
    .map((f) => {
      const pid = Number(f.split('.')[3]);
      return summarizeProfile(join(dir, f), nameOfPid.get(pid) ?? `pid ${pid}`);
    })
    .sort((a, b) => a.process.localeCompare(b.process));
}

export function profileMarkdown(summaries: ProfileSummary[]): string {
  const out: string[] = [];
  for (const s of summaries) {
    out.push(`#### ${s.process}: ${Math.round(s.busyMs)} ms busy, ${Math.round(s.idleMs)} ms idle`, '');
    out.push('| self % | self ms | function | where |', '|---:|---:|---|---|');
    for (const e of s.top) out.push(`| ${e.percent} | ${e.selfMs} | \`${e.function}\` | ${e.where} |`);
    out.push('', `By module: ${s.byModule.map((m) => `${m.module} ${m.percent} %`).join(', ')}`, '');
  }
  return out.join('\n');
}

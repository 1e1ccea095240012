/**
 * Reads a V8 CPU profile (`node --cpu-prof` writes CPU.*.cpuprofile) and prints where the time
 * went: self time by function and by package or source file (top N), and the share of the busy
 * time (neither idle nor garbage collection) spent in the cost controls, by plugin: every
 * sample whose stack passes through one of their files, except the execution timeout's
 * wrappers, which call the resolvers and the executor and so count only for their own time.
 * Frames of a bundle with a source map beside it (FILE.js.map, as `bench/profile.ts --cpu-prof`
 * builds) are named by their original file and line, so packages show up by name.
 * Run with `npx tsx scripts/cpuprofile-top.ts FILE.cpuprofile [N]` (N defaults to 30).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { SourceMapConsumer } from 'source-map-js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The cost controls' files, named by what the report calls them. */
const COST_CONTROLS =
  /src\/plugins\/(operation-limits|operation-shape|cost-analysis|cost-budget|field-rate-limits[^/]*)\.ts|src\/cost\/|@envelop\/rate-limiter|graphql-query-complexity/;
const TIMEOUT_WRAPPERS = /src\/plugins\/execution-timeout\.ts/;

const [file, count = '30'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: npx tsx scripts/cpuprofile-top.ts FILE.cpuprofile [N]\n');
  process.exit(1);
}
const top = Number(count);
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const sourceMaps = new Map<string, SourceMapConsumer | null>();
async function sourceMapOf(url: string): Promise<SourceMapConsumer | null> {
  if (!sourceMaps.has(url)) {
    const mapFile = `${fileURLToPath(url)}.map`;
    sourceMaps.set(
      url,
      existsSync(mapFile)
        ? new SourceMapConsumer(JSON.parse(await readFile(mapFile, 'utf8')))
        : null,
    );
  }
  return sourceMaps.get(url) ?? null;
}
// Bundled frames are renamed to their original source (file:// so shortUrl and packageOf apply).
for (const node of profile.nodes) {
  const frame = node.callFrame;
  if (!frame.url.startsWith('file://')) continue;
  const map = await sourceMapOf(frame.url);
  const original = map?.originalPositionFor({
    line: frame.lineNumber + 1,
    column: Math.max(frame.columnNumber, 0),
  });
  if (!original?.source) continue;
  frame.url = new URL(original.source, frame.url).href;
  frame.lineNumber = (original.line ?? 1) - 1;
}
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parents = new Map<number, number>();
for (const node of profile.nodes)
  for (const child of node.children ?? []) parents.set(child, node.id);

const shortUrl = (url: string) =>
  url.replace(/^file:\/\/.*?\/node_modules\//, '').replace(/^file:\/\/.*?\/(src|scripts)\//, '$1/');
const packageOf = (url: string) => {
  const short = shortUrl(url);
  if (!short) return '(native)';
  if (short.startsWith('src/') || short.startsWith('scripts/') || short.startsWith('node:')) {
    return short;
  }
  return /^(@[^/]+\/)?[^/]+/.exec(short)?.[0] ?? short;
};

const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
const byControl = new Map<string, number>();
let total = 0;
let idle = 0;
let gc = 0;
const add = (map: Map<string, number>, key: string, time: number) =>
  map.set(key, (map.get(key) ?? 0) + time);

profile.samples.forEach((id, index) => {
  const time = profile.timeDeltas[index] ?? 0;
  total += time;
  const frame = nodes.get(id)?.callFrame;
  if (!frame) return;
  const name = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url) || '(native)'}:${frame.lineNumber + 1}`;
  add(byFunction, name, time);
  add(byPackage, packageOf(frame.url), time);
  if (frame.functionName === '(idle)') idle += time;
  else if (frame.functionName === '(garbage collector)') gc += time;
  else {
    let control: string | undefined;
    if (TIMEOUT_WRAPPERS.test(frame.url)) control = 'execution-timeout (own time)';
    // The outermost cost-control frame names the sample.
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const match = COST_CONTROLS.exec(nodes.get(at)?.callFrame.url ?? '');
      if (match && !control?.startsWith('execution-timeout')) control = shortUrl(match[0]);
    }
    if (control) add(byControl, control, time);
  }
});

const ms = (microseconds: number) => `${(microseconds / 1000).toFixed(0).padStart(7)} ms`;
const percent = (part: number, whole: number) =>
  `${((100 * part) / whole).toFixed(1).padStart(5)}%`;
const print = (title: string, map: Map<string, number>, whole: number, limit = top) => {
  console.log(title);
  for (const [key, time] of [...map].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    console.log(`${ms(time)} ${percent(time, whole)}  ${key}`);
  }
};

const busy = total - idle - gc;
console.log(`${file}: ${ms(total)} sampled, ${ms(busy)} busy, ${ms(gc)} garbage collection`);
print(`\nself time by function (top ${top}, % of all samples)`, byFunction, total);
print(`\nself time by package or file (top ${top}, % of all samples)`, byPackage, total);
const controls = [...byControl.values()].reduce((sum, time) => sum + time, 0);
print(
  `\ncost controls: ${ms(controls)} = ${percent(controls, busy)} of busy time`,
  byControl,
  busy,
  Number.POSITIVE_INFINITY,
);

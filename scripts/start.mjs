/**
 * `npm start`: the server, run from its build in dist/ (scripts/build.mjs), which is rebuilt
 * first when src/ or the installed packages changed since it was made. `npm run dev` runs src/
 * through tsx instead, restarting on changes.
 *
 * package.json starts it with V8's `--liftoff-only`: the embedded database is PostgreSQL
 * compiled to WebAssembly, and by default V8 recompiles its hot functions with its optimizing
 * compiler in the background; on a machine with few cores that work holds up the start (the
 * main thread waits on it for 0.3–0.7 s). Liftoff, V8's baseline WebAssembly compiler, alone
 * starts the database in about half the time; queries of the demo's size run at the same speed
 * (docs/performance-startup.md). JavaScript is compiled as usual; a server on DATABASE_URL runs
 * no WebAssembly at all.
 *
 * With WORKERS=n the cluster's workers run this file too: they use the build their primary
 * checked, without checking again.
 */
import cluster from 'node:cluster';
import { serverEntry } from './build.mjs';

await import((await serverEntry({ rebuild: cluster.isPrimary })).href);

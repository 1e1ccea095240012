/**
 * `npm start`: the server, run from its build in dist/ (scripts/build.mjs), which is rebuilt
 * first when src/ or the installed packages changed since it was made. `npm run dev` runs src/
 * through tsx instead, restarting on changes.
 *
 * package.json starts it with V8's `--liftoff-only`: the embedded database is PostgreSQL
 * compiled to WebAssembly, and by default V8 recompiles its hot functions with its optimizing
 * compiler in the background; on a machine with few cores the main thread ends up waiting for
 * that work, 0.3 s of an existing DATA_DIR's start and 0.7 s of a fresh one's on two cores.
 * Liftoff, V8's baseline WebAssembly compiler, alone avoids the wait, and the server on the demo
 * data answered as many requests per second under load (docs/performance.md, Start-up).
 * JavaScript is compiled as usual; a server on DATABASE_URL runs no WebAssembly at all.
 *
 * Two flags size V8's heap for a server whose requests allocate ≈ 1.4 MB each and are short-
 * lived (docs/performance.md, "Allocation"):
 * - `--max-semi-space-size=16` (MB) gives the young generation room for the objects of the
 *   requests in flight: with Node's default (8 MB here) they outlive two scavenges under load
 *   and are promoted, and the server spent about 15% more CPU per request;
 * - `--heap-growing-percent=50` lets the old generation grow to 1.5× what survived the last
 *   full collection before the next one, instead of V8's larger factors: what gets promoted is
 *   mostly garbage, so a collection is cheap, and peak RSS under load stays near 160 MB
 *   instead of 250–460 MB at the same CPU per request. The limit still follows the live data.
 * The bench runs ours with the flags of this script.
 *
 * With WORKERS=n the cluster's workers run this file too: they use the build their primary
 * checked, without checking again.
 */
import cluster from 'node:cluster';
import { serverEntry } from './build.mjs';

await import((await serverEntry({ rebuild: cluster.isPrimary })).href);

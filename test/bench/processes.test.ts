import { describe, expect, it } from 'vitest';
import { parseExports, startScriptNodeFlags, Teardown } from '../../bench/processes.ts';

describe('parseExports', () => {
  it('reads the export lines of a throwaway script, quoting undone', () => {
    expect(
      parseExports(
        [
          'export DATABASE_URL=postgres://postgres@127.0.0.1:5432/orders_test',
          "export PG_THROWAWAY_DIR='/tmp/pg throwaway'",
          'export NGINX_THROWAWAY_DIR=/tmp/a\\ b',
          'pg-throwaway: ready',
          '',
        ].join('\n'),
      ),
    ).toEqual({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/orders_test',
      PG_THROWAWAY_DIR: '/tmp/pg throwaway',
      NGINX_THROWAWAY_DIR: '/tmp/a b',
    });
  });

  it('ignores everything that is not an export', () => {
    expect(parseExports('DATABASE_URL=x\nexport 1BAD=y\necho export A=b')).toEqual({});
  });
});

describe('startScriptNodeFlags', () => {
  const withStart = (start: string) => ({ scripts: { start } });

  it("runs ours with the flags of package.json's start script", () => {
    expect(startScriptNodeFlags()).toEqual(
      expect.arrayContaining(['--max-semi-space-size=16', '--heap-growing-percent=50']),
    );
    expect(
      startScriptNodeFlags(
        withStart('node --liftoff-only --max-semi-space-size=16 scripts/start.mjs'),
      ),
    ).toEqual(['--liftoff-only', '--max-semi-space-size=16']);
    expect(startScriptNodeFlags(withStart('node scripts/start.mjs'))).toEqual([]);
  });

  it('refuses a start script it cannot read flags from', () => {
    expect(() => startScriptNodeFlags(withStart('tsx src/main.ts'))).toThrow('not "node [flags]');
    expect(() => startScriptNodeFlags({})).toThrow('not "node [flags]');
  });
});

describe('Teardown', () => {
  it('stops everything newest first, once, even when a step fails', async () => {
    const stopped: string[] = [];
    const teardown = new Teardown();
    teardown.add('database', () => {
      stopped.push('database');
    });
    teardown.add('broken', () => {
      throw new Error('already gone');
    });
    teardown.add('server', async () => {
      stopped.push('server');
    });
    const stderr = process.stderr.write;
    process.stderr.write = () => true;
    try {
      await teardown.run();
      await teardown.run();
    } finally {
      process.stderr.write = stderr;
    }
    expect(stopped).toEqual(['server', 'database']);
  });
});

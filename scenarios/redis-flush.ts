// redis-flush: the retention story on a server nobody here wrote. Redis from Debian (it
// links its own jemalloc, so it runs as-built) is filled with a few hundred MiB of values
// by redis-benchmark, every key is deleted (a Lua script, one DEL per key: no FLUSHALL,
// whose synchronous form makes Redis purge jemalloc by itself), it idles, and then Redis's
// own MEMORY PURGE is the release. docs/targets.md has the figures.
import { defineScenario } from '../harness/scenario/scenario.js';

const fill = (n: number) => ({
  command: ['redis-benchmark', '-p', '{port}', '-t', 'set', '-n', String(n), '-d', '1000', '-r', String(n), '-c', '16', '-P', '16', '-q'],
  until: 'exit' as const,
});
// Deletes every key, one DEL each, inside Redis (argv only: no shell, no pipe).
const deleteAll = {
  command: ['redis-cli', '-p', '{port}', 'EVAL', "local n = 0 for _, k in ipairs(redis.call('KEYS', '*')) do redis.call('DEL', k) n = n + 1 end return n", '0'],
  until: 'exit' as const,
};

export default defineScenario({
  name: 'redis-flush',
  description: 'Redis (Debian, its own jemalloc): fill with redis-benchmark, delete every key, idle, MEMORY PURGE',
  target: {
    command: ['redis-server', '--save', '', '--appendonly', 'no', '--port', '{port}', '--bind', '127.0.0.1', '--daemonize', 'no'],
    ready: { tcp: '{port}' },
    release: { method: 'command', command: ['redis-cli', '-p', '{port}', 'memory', 'purge'] },
  },
  variants: ['as-built'],
  trials: 1,
  phases: [
    { name: 'baseline', duration: '1s' },
    // 400k x 1000 B SETs over a 400k keyspace; the duration is a limit (until: 'exit').
    { name: 'fill', duration: '120s', load: fill(400_000) },
    { name: 'delete', duration: '60s', load: deleteAll },
    { name: 'idle', duration: '3s' },
    { name: 'after-release', duration: '2s', actions: ['release'] },
  ],
  quick: {
    phases: {
      baseline: { duration: '500ms' },
      fill: { duration: '60s', load: fill(150_000) },
      idle: { duration: '2s' },
      'after-release': { duration: '1500ms' },
    },
  },
});

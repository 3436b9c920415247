// relay-as-target: the consistency check of targets. The lab's own relay-glibc binary run
// as a *target* (its upstream started as a helper), with each allocator preloaded and the
// probe as its control channel, under the burst's load. With tcmalloc preloaded it must
// show relay-tcmalloc's burst physics (npm run lab -- --scenario burst --variants tcmalloc):
// test/targets/consistency.test.ts holds it to that.
import { defineScenario } from '../harness/scenario/scenario.js';
import burst from './burst.js';

const upstream = (delay: string) => ({
  name: 'upstream',
  command: ['{lab_build}/upstream', '--port', '{port_upstream}', '--delay-ms', delay, '--response-bytes', '4096', '--seed', '42', '--max-frame', '16777216'],
  ready: { tcp: '{port_upstream}' },
});

export default defineScenario({
  name: 'relay-as-target',
  description: 'the built-in relay-glibc run as a target, allocators preloaded, under the burst load',
  target: {
    command: ['{lab_build}/relay-glibc', '--port', '{port}', '--upstream-port', '{port_upstream}', '--threads', '8', '--max-frame', '16777216', '--high-water', '8388608'],
    helpers: [upstream('1000')],
    ready: { tcp: '{port}' },
    port: '{port}',
    release: { method: 'probe' },
  },
  variants: ['tcmalloc'],
  connections: 64,
  trials: 1,
  seed: 42,
  // The same phases as scenarios/burst.ts.
  phases: burst.phases,
  quick: {
    target: { helpers: [upstream('500')] },
    phases: burst.quick!.phases,
  },
});

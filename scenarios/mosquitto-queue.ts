// mosquitto-queue: the retention story on a plain-malloc server nobody here wrote, under
// every allocator. Mosquitto (the MQTT broker from Debian: C, the system malloc, one
// process in the foreground) queues large QoS 1 messages for a subscriber that is offline
// (a persistent session), the subscriber comes back and drains the queue, the broker
// idles, and the probe's release gives free memory back. Debian's own mosquitto_pub and
// mosquitto_sub are the load. docs/targets.md says why this server, and has the figures.
import { defineScenario } from '../harness/scenario/scenario.js';

const mqtt = ['-p', '{port}', '-i', 'lab-queue', '-c', '-q', '1', '-t', 'lab/queue'];
/** Publishes `n` copies of the payload with QoS 1: each stays in the broker's queue for the
 * offline subscriber (at most 1000: mosquitto's default max_queued_messages). */
const fill = (n: number) => ({
  command: ['mosquitto_pub', '-p', '{port}', '-t', 'lab/queue', '-q', '1', '-f', '{run_dir}/payload', '--repeat', String(n)],
  until: 'exit' as const,
});
/** The subscriber reconnects and takes the `n` queued messages (prints each one's length only). */
const drain = (n: number) => ({
  command: ['mosquitto_sub', ...mqtt, '-C', String(n), '-F', '%l'],
  until: 'exit' as const,
});

export default defineScenario({
  name: 'mosquitto-queue',
  description: 'Mosquitto (Debian, system malloc): queue 256 KiB QoS 1 messages for an offline subscriber, drain them, idle, probe release',
  target: {
    command: ['mosquitto', '-p', '{port}'],  // -p alone listens on loopback only, in the foreground
    ready: { tcp: '{port}' },
    release: { method: 'probe' },
  },
  variants: ['glibc', 'tcmalloc', 'jemalloc', 'mimalloc', 'as-built'],
  trials: 1,
  phases: [
    // The payload file (256 KiB of random bytes) is written into the trial's folder.
    { name: 'baseline', duration: '10s', load: { command: ['dd', 'if=/dev/urandom', 'of={run_dir}/payload', 'bs=256k', 'count=1', 'status=none'], until: 'exit' } },
    // The subscriber's persistent session (-c, QoS 1) is created, then it goes offline (-E).
    { name: 'subscribe', duration: '10s', load: { command: ['mosquitto_sub', ...mqtt, '-E'], until: 'exit' } },
    { name: 'fill', duration: '60s', load: fill(800) },
    { name: 'drain', duration: '60s', load: drain(800) },
    { name: 'idle', duration: '3s' },
    { name: 'after-release', duration: '2s', actions: ['release'] },
  ],
  quick: {
    phases: {
      fill: { duration: '30s', load: fill(400) },
      drain: { duration: '30s', load: drain(400) },
      idle: { duration: '2s' },
      'after-release': { duration: '1s' },
    },
  },
});

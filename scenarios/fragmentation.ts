// fragmentation: a burst of 90,000 small requests (512 B-1 KiB) in flight at once, with
// a 1 KiB record, kept for a minute, allocated after every 4th of them in the same size
// range. When the requests are freed, the records are left scattered over nearly every
// page the burst used, so a release cannot give those pages back: RSS after the release
// stays far above the live bytes. (With 512 B records between 16-64 KiB buffers nothing
// fragments: page-granular release returns the free pages around each record.)
import { defineScenario } from '../harness/scenario/scenario.js';

export default defineScenario({
  name: 'fragmentation',
  description: 'small short-lived requests with long-lived records of the same size between them',
  relay: { logRecord: { bytes: 1024, every: 4, retention: '60s' } },
  upstream: { delay: '1s', response: 64 },
  // 256 connections: about 350 requests in flight each, well under the relay's 1,024
  // unanswered requests per client before it stops reading one.
  connections: 256,
  seed: 17,
  phases: [
    { name: 'baseline', duration: '1s', load: { closed: 16, size: '1KiB' } },
    // 90,000 requests, 22,500 records (22 MiB): under the leak verdict's 32 MiB floor.
    { name: 'burst', duration: '1s', load: { closed: 90000, size: { uniform: [512, 1024] } } },
    { name: 'drain', duration: '1500ms' },
    { name: 'idle', duration: '1s' },
    { name: 'after-release', duration: '1s', actions: ['release'] },
  ],
  quick: {
    phases: {
      baseline: { duration: '500ms' },
      drain: { duration: '1200ms' },
    },
  },
});

/* The probe's plain-C entry points (libleaklab-probe.so exports them; nm -D shows them), for a
   program that loads the probe itself (dlopen) or links it, and wants the allocator's counters
   or its release without the control socket. Each writes one JSON object, NUL-terminated,
   into buf[0..len): the `stats-counters` reply and the `release` reply of native/PROTOCOL.md.
   Thread-safe (one lock). The first call finds the allocator (that allocates); every later
   call makes no malloc/free call. Nothing is ever written past buf + len. */
#ifndef LEAKLAB_PROBE_H
#define LEAKLAB_PROBE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The counters; the reply's length (without the NUL), or 0 when it does not fit in len. */
long leaklab_alloc_counters(char* buf, size_t len);
/* Runs the release, then writes its reply; the length, or -1 when the reply does not fit
   (the release has run). */
long leaklab_alloc_release(char* buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif

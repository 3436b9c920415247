// The plain-C entry points (leaklab_probe.h): one ProbeHost of their own, made by the
// first call, behind one lock; each reply is written into a fixed scratch buffer and copied
// out only when it fits, so nothing is written past the caller's buffer.
#include <pthread.h>

#include <cstring>

#include "leaklab_probe.h"
#include "probe_host.h"

namespace leaklab::probe {
namespace {

pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
ProbeHost* g_commands = nullptr;  // under g_lock; never freed (a host may call at exit)
char g_scratch[ProbeHost::kStatsReplyBytes];

template <typename Write>
long Entry(char* buf, size_t len, long too_small, Write write) {
  pthread_mutex_lock(&g_lock);
  if (g_commands == nullptr) g_commands = new ProbeHost();
  const size_t n = write(*g_commands, g_scratch, sizeof g_scratch);
  long rc = too_small;
  if (n > 0 && buf != nullptr && n < len) {
    std::memcpy(buf, g_scratch, n);
    buf[n] = '\0';
    rc = static_cast<long>(n);
  }
  pthread_mutex_unlock(&g_lock);
  return rc;
}

}  // namespace
}  // namespace leaklab::probe

extern "C" __attribute__((visibility("default"))) long leaklab_alloc_counters(char* buf, size_t len) {
  return leaklab::probe::Entry(buf, len, 0, [](leaklab::probe::ProbeHost& c, char* b, size_t l) {
    return c.WriteStats(false, b, l);
  });
}

extern "C" __attribute__((visibility("default"))) long leaklab_alloc_release(char* buf, size_t len) {
  return leaklab::probe::Entry(buf, len, -1, [](leaklab::probe::ProbeHost& c, char* b, size_t l) {
    return c.WriteRelease(b, l);
  });
}

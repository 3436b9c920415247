// Test only: an LD_PRELOAD shim whose anonymous mmap and whose sbrk sleep 20 ms before they
// run (test/native/inspect.test.ts). An allocator growing its heap calls them while it holds
// its own lock (jemalloc's grow mutex, tcmalloc's page heap lock), so a snapshot taken then
// finds a thread asleep in nanosleep under that lock: the inspector must not pick it.
#include <dlfcn.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

namespace {
void Sleep20ms() {
  timespec ts{0, 20 * 1000 * 1000};
  while (nanosleep(&ts, &ts) != 0) {
  }
}
}  // namespace

extern "C" void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  using Fn = void* (*)(void*, size_t, int, int, int, off_t);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "mmap"));
  if ((flags & MAP_ANONYMOUS) && len >= (1 << 20)) Sleep20ms();
  return real(addr, len, prot, flags, fd, off);
}

extern "C" void* sbrk(intptr_t inc) {
  using Fn = void* (*)(intptr_t);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "sbrk"));
  if (inc > 0) Sleep20ms();
  return real(inc);
}

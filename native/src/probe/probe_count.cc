// The counting layer (probe_count.h). Every definition here is exported (the version script
// native/src/probe/probe.map), so it serves the process only when the probe comes first in
// LD_PRELOAD: the dynamic linker binds malloc at load time, before any environment could be
// read, so a probe that is first always interposes. With counting off a call costs one load
// and one indirect call more; with counting on, the block's usable size (the allocator's own
// malloc_usable_size) is added to or taken from one of 64 cache-line shards, picked per
// thread (an initial-exec TLS int: no thread_local with a destructor, whose registration
// would allocate). Calls nested in a counted call (libstdc++'s operator new calling malloc)
// are not counted again. dlsym() may allocate while the next definitions are resolved:
// those calls are served from a static buffer and never freed.
#include "probe_count.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#define LEAKLAB_EXPORT extern "C" __attribute__((visibility("default")))
#define LEAKLAB_TLS __attribute__((tls_model("initial-exec")))

namespace leaklab::probe {
namespace {

__thread int t_depth LEAKLAB_TLS = 0;      // >0 inside a counted call
__thread int t_resolving LEAKLAB_TLS = 0;  // this thread is inside dlsym()
__thread int t_shard LEAKLAB_TLS = 0;      // 1 + its shard, 0 = not picked yet

using MallocFn = void* (*)(size_t);
using FreeFn = void (*)(void*);
using CallocFn = void* (*)(size_t, size_t);
using ReallocFn = void* (*)(void*, size_t);
using AlignFn = void* (*)(size_t, size_t);
using PosixAlignFn = int (*)(void**, size_t, size_t);
using UsableFn = size_t (*)(void*);
using NewFn = void* (*)(size_t);
using NewNtFn = void* (*)(size_t, const std::nothrow_t&);
using NewAFn = void* (*)(size_t, std::align_val_t);
using NewANtFn = void* (*)(size_t, std::align_val_t, const std::nothrow_t&);
using DelFn = void (*)(void*);
using DelSFn = void (*)(void*, size_t);
using DelAFn = void (*)(void*, std::align_val_t);
using DelSAFn = void (*)(void*, size_t, std::align_val_t);
using DelNtFn = void (*)(void*, const std::nothrow_t&);
using DelANtFn = void (*)(void*, std::align_val_t, const std::nothrow_t&);

// The next definitions (the allocator's), resolved once.
struct Next {
  MallocFn malloc;
  FreeFn free;
  CallocFn calloc;
  ReallocFn realloc;
  AlignFn memalign, aligned_alloc;
  PosixAlignFn posix_memalign;
  MallocFn valloc, pvalloc;
  UsableFn usable;
  NewFn nw, na;
  NewNtFn nw_nt, na_nt;
  NewAFn nw_a, na_a;
  NewANtFn nw_a_nt, na_a_nt;
  DelFn dl, da;
  DelSFn dl_s, da_s;
  DelAFn dl_a, da_a;
  DelSAFn dl_sa, da_sa;
  DelNtFn dl_nt, da_nt;
  DelANtFn dl_a_nt, da_a_nt;
};
Next g_next;
std::atomic<int> g_ready{0};
bool g_requested = false;
bool g_counting = false;
char g_first[256];  // LD_PRELOAD's first entry, for the status line

// The static buffer for calls made inside dlsym(): 16-byte header (the size), never freed.
alignas(64) char g_boot[64 * 1024];
std::atomic<size_t> g_boot_used{0};

void* BootAlloc(size_t n) {
  const size_t need = ((n + 15) & ~size_t{15}) + 16;
  const size_t at = g_boot_used.fetch_add(need);
  if (at + need > sizeof g_boot) return nullptr;
  *reinterpret_cast<size_t*>(g_boot + at) = n;
  return g_boot + at + 16;
}
bool IsBoot(const void* p) { return p >= g_boot && p < g_boot + sizeof g_boot; }
size_t BootSize(const void* p) { return *reinterpret_cast<const size_t*>(static_cast<const char*>(p) - 16); }

constexpr int kShards = 64;
struct alignas(64) Shard {
  std::atomic<int64_t> bytes{0};
};
Shard g_shards[kShards];
std::atomic<unsigned> g_shard_seq{0};

inline Shard& MyShard() {
  if (t_shard == 0) t_shard = 1 + static_cast<int>(g_shard_seq.fetch_add(1, std::memory_order_relaxed) % kShards);
  return g_shards[t_shard - 1];
}

// The value of `name` in the initial environment without allocating: getenv once libc has
// set environ, else /proc/self/environ (calls made before libc's own initializer).
bool EnvValue(const char* name, char* out, size_t len) {
  const size_t name_len = std::strlen(name);
  if (environ != nullptr) {
    const char* v = std::getenv(name);
    if (v == nullptr) return false;
    std::strncpy(out, v, len - 1);
    out[len - 1] = '\0';
    return true;
  }
  static char env[32 * 1024];
  const int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = read(fd, env, sizeof env - 1);
  close(fd);
  if (n <= 0) return false;
  env[n] = '\0';
  for (const char* e = env; e < env + n; e += std::strlen(e) + 1) {
    if (std::strncmp(e, name, name_len) == 0 && e[name_len] == '=') {
      std::strncpy(out, e + name_len + 1, len - 1);
      out[len - 1] = '\0';
      return true;
    }
  }
  return false;
}

template <typename Fn>
void Resolve(Fn* slot, const char* name) {
  *slot = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

void Init() {
  t_resolving = 1;
  Next n{};
  Resolve(&n.malloc, "malloc");
  Resolve(&n.free, "free");
  Resolve(&n.calloc, "calloc");
  Resolve(&n.realloc, "realloc");
  Resolve(&n.memalign, "memalign");
  Resolve(&n.aligned_alloc, "aligned_alloc");
  Resolve(&n.posix_memalign, "posix_memalign");
  Resolve(&n.valloc, "valloc");
  Resolve(&n.pvalloc, "pvalloc");
  Resolve(&n.usable, "malloc_usable_size");
  Resolve(&n.nw, "_Znwm");
  Resolve(&n.na, "_Znam");
  Resolve(&n.nw_nt, "_ZnwmRKSt9nothrow_t");
  Resolve(&n.na_nt, "_ZnamRKSt9nothrow_t");
  Resolve(&n.nw_a, "_ZnwmSt11align_val_t");
  Resolve(&n.na_a, "_ZnamSt11align_val_t");
  Resolve(&n.nw_a_nt, "_ZnwmSt11align_val_tRKSt9nothrow_t");
  Resolve(&n.na_a_nt, "_ZnamSt11align_val_tRKSt9nothrow_t");
  Resolve(&n.dl, "_ZdlPv");
  Resolve(&n.da, "_ZdaPv");
  Resolve(&n.dl_s, "_ZdlPvm");
  Resolve(&n.da_s, "_ZdaPvm");
  Resolve(&n.dl_a, "_ZdlPvSt11align_val_t");
  Resolve(&n.da_a, "_ZdaPvSt11align_val_t");
  Resolve(&n.dl_sa, "_ZdlPvmSt11align_val_t");
  Resolve(&n.da_sa, "_ZdaPvmSt11align_val_t");
  Resolve(&n.dl_nt, "_ZdlPvRKSt9nothrow_t");
  Resolve(&n.da_nt, "_ZdaPvRKSt9nothrow_t");
  Resolve(&n.dl_a_nt, "_ZdlPvSt11align_val_tRKSt9nothrow_t");
  Resolve(&n.da_a_nt, "_ZdaPvSt11align_val_tRKSt9nothrow_t");
  t_resolving = 0;
  if (n.malloc == nullptr || n.free == nullptr) {
    static const char kMsg[] = "leaklab-probe: no malloc after the probe (dlsym(RTLD_NEXT)); aborting\n";
    const ssize_t w = write(2, kMsg, sizeof kMsg - 1);
    (void)w;
    std::abort();
  }
  char value[8];
  const bool requested = EnvValue("LEAKLAB_PROBE_COUNT", value, sizeof value) && std::strcmp(value, "1") == 0;
  char preload[4096] = "";
  EnvValue("LD_PRELOAD", preload, sizeof preload);
  // LD_PRELOAD's first entry (separated by ':' or spaces), and its file name.
  const char* first = preload + std::strspn(preload, ": ");
  const size_t first_len = std::strcspn(first, ": ");
  const char* base = first;
  for (const char* c = first; c < first + first_len; ++c)
    if (*c == '/') base = c + 1;
  static const char kProbe[] = "libleaklab-probe.so";
  const bool is_first = static_cast<size_t>(first + first_len - base) == sizeof kProbe - 1 &&
                        std::strncmp(base, kProbe, sizeof kProbe - 1) == 0;
  if (g_ready.load(std::memory_order_acquire) == 0) {
    g_next = n;
    g_requested = requested;
    g_counting = requested && is_first;
    const size_t take = first_len < sizeof g_first - 1 ? first_len : sizeof g_first - 1;
    std::memcpy(g_first, first, take);
    g_first[take] = '\0';
    g_ready.store(1, std::memory_order_release);
  }
}

inline const Next& N() {
  if (__builtin_expect(g_ready.load(std::memory_order_acquire) == 0, 0)) Init();
  return g_next;
}

inline void Add(void* p) {
  if (p != nullptr && !IsBoot(p) && g_next.usable != nullptr)
    MyShard().bytes.fetch_add(static_cast<int64_t>(g_next.usable(p)), std::memory_order_relaxed);
}
inline void Sub(void* p) {
  if (p != nullptr && !IsBoot(p) && g_next.usable != nullptr)
    MyShard().bytes.fetch_sub(static_cast<int64_t>(g_next.usable(p)), std::memory_order_relaxed);
}

// The scope of one forwarded call: counts only the outermost.
struct Scope {
  bool outer;
  Scope() : outer(g_counting && t_depth == 0) { ++t_depth; }
  ~Scope() { --t_depth; }
};

template <typename Call>
inline void* Alloc(Call call) {
  if (!g_counting) return call();
  Scope s;
  void* p = call();
  if (s.outer) Add(p);
  return p;
}

template <typename Call>
inline void Free(void* p, Call call) {
  if (p == nullptr) {
    call();
    return;
  }
  if (IsBoot(p)) return;
  if (!g_counting) {
    call();
    return;
  }
  Scope s;
  if (s.outer) Sub(p);
  call();
}

void* OomNew(size_t n, bool array) {
  // The next operator new is missing (no libstdc++ after the probe): malloc, as
  // libstdc++'s does, with its bad_alloc.
  (void)array;
  void* p = N().malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

CountState ReadCount() {
  CountState s;
  N();
  s.requested = g_requested;
  s.counting = g_counting;
  int64_t total = 0;
  for (const Shard& sh : g_shards) total += sh.bytes.load(std::memory_order_relaxed);
  s.in_use_bytes = total;
  return s;
}

const char* CountStatus(char* buf, size_t len) {
  N();
  if (g_counting) return "counting";
  if (!g_requested) return "off (LEAKLAB_PROBE_COUNT is not 1)";
  static const char kHead[] = "not counting: LEAKLAB_PROBE_COUNT=1, but the probe is not first in LD_PRELOAD (first: ";
  if (len == 0) return "";
  buf[0] = '\0';
  std::strncat(buf, kHead, len - 1);
  std::strncat(buf, g_first[0] ? g_first : "(empty)", len - 1 - std::strlen(buf));
  std::strncat(buf, ")", len - 1 - std::strlen(buf));
  return buf;
}

}  // namespace leaklab::probe

using leaklab::probe::Alloc;
using leaklab::probe::Free;
using leaklab::probe::N;

LEAKLAB_EXPORT void* malloc(size_t n) {
  if (leaklab::probe::t_resolving) return leaklab::probe::BootAlloc(n);
  const auto& next = N();
  return Alloc([&] { return next.malloc(n); });
}

LEAKLAB_EXPORT void free(void* p) {
  if (leaklab::probe::IsBoot(p)) return;
  const auto& next = N();
  Free(p, [&] { next.free(p); });
}

LEAKLAB_EXPORT void* calloc(size_t n, size_t size) {
  if (leaklab::probe::t_resolving) {
    if (size != 0 && n > static_cast<size_t>(-1) / size) return nullptr;
    return leaklab::probe::BootAlloc(n * size);  // static storage: already zero
  }
  const auto& next = N();
  return Alloc([&] { return next.calloc(n, size); });
}

LEAKLAB_EXPORT void* realloc(void* p, size_t n) {
  using namespace leaklab::probe;
  if (t_resolving) {
    void* q = BootAlloc(n);
    if (q && p) std::memcpy(q, p, BootSize(p) < n ? BootSize(p) : n);
    return q;
  }
  const auto& next = N();
  if (IsBoot(p)) {
    void* q = malloc(n);
    if (q) std::memcpy(q, p, BootSize(p) < n ? BootSize(p) : n);
    return q;
  }
  Scope s;
  if (!s.outer || p == nullptr) {
    void* q = next.realloc(p, n);
    if (s.outer) Add(q);
    return q;
  }
  const int64_t old = static_cast<int64_t>(next.usable(p));
  void* q = next.realloc(p, n);
  if (q != nullptr) {
    MyShard().bytes.fetch_add(static_cast<int64_t>(next.usable(q)) - old, std::memory_order_relaxed);
  } else if (n == 0) {
    MyShard().bytes.fetch_sub(old, std::memory_order_relaxed);  // glibc: realloc(p, 0) frees p
  }
  return q;
}

LEAKLAB_EXPORT void* reallocarray(void* p, size_t n, size_t size) {
  if (size != 0 && n > static_cast<size_t>(-1) / size) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(p, n * size);
}

LEAKLAB_EXPORT void* memalign(size_t align, size_t n) {
  const auto& next = N();
  return Alloc([&] { return next.memalign ? next.memalign(align, n) : nullptr; });
}

LEAKLAB_EXPORT void* aligned_alloc(size_t align, size_t n) {
  const auto& next = N();
  return Alloc([&] { return next.aligned_alloc ? next.aligned_alloc(align, n) : nullptr; });
}

LEAKLAB_EXPORT int posix_memalign(void** out, size_t align, size_t n) {
  const auto& next = N();
  int rc = ENOMEM;
  Alloc([&]() -> void* {
    rc = next.posix_memalign ? next.posix_memalign(out, align, n) : ENOMEM;
    return rc == 0 ? *out : nullptr;
  });
  return rc;
}

LEAKLAB_EXPORT void* valloc(size_t n) {
  const auto& next = N();
  return Alloc([&] { return next.valloc ? next.valloc(n) : nullptr; });
}

LEAKLAB_EXPORT void* pvalloc(size_t n) {
  const auto& next = N();
  return Alloc([&] { return next.pvalloc ? next.pvalloc(n) : nullptr; });
}

LEAKLAB_EXPORT size_t malloc_usable_size(void* p) {
  using namespace leaklab::probe;
  if (p == nullptr) return 0;
  if (IsBoot(p)) return BootSize(p);
  const auto& next = N();
  return next.usable ? next.usable(p) : 0;
}

// C++ operators: each forwards to the next definition (libstdc++'s, or the allocator's own).
#define LEAKLAB_NEW(sig, field, ...)                                                   \
  __attribute__((visibility("default"))) void* sig {                                  \
    const auto& next = N();                                                            \
    return Alloc([&] { return next.field ? next.field(__VA_ARGS__) : leaklab::probe::OomNew(n, false); }); \
  }
#define LEAKLAB_NEW_NT(sig, field, ...)                                                \
  __attribute__((visibility("default"))) void* sig noexcept {                         \
    const auto& next = N();                                                            \
    return Alloc([&]() -> void* { return next.field ? next.field(__VA_ARGS__) : next.malloc(n ? n : 1); }); \
  }
#define LEAKLAB_DELETE(sig, field, ...)                                                \
  __attribute__((visibility("default"))) void sig noexcept {                          \
    const auto& next = N();                                                            \
    Free(p, [&] {                                                                      \
      if (next.field) next.field(__VA_ARGS__);                                         \
      else next.free(p);                                                               \
    });                                                                                \
  }

LEAKLAB_NEW(operator new(size_t n), nw, n)
LEAKLAB_NEW(operator new[](size_t n), na, n)
LEAKLAB_NEW(operator new(size_t n, std::align_val_t a), nw_a, n, a)
LEAKLAB_NEW(operator new[](size_t n, std::align_val_t a), na_a, n, a)
LEAKLAB_NEW_NT(operator new(size_t n, const std::nothrow_t& t), nw_nt, n, t)
LEAKLAB_NEW_NT(operator new[](size_t n, const std::nothrow_t& t), na_nt, n, t)
LEAKLAB_NEW_NT(operator new(size_t n, std::align_val_t a, const std::nothrow_t& t), nw_a_nt, n, a, t)
LEAKLAB_NEW_NT(operator new[](size_t n, std::align_val_t a, const std::nothrow_t& t), na_a_nt, n, a, t)
LEAKLAB_DELETE(operator delete(void* p), dl, p)
LEAKLAB_DELETE(operator delete[](void* p), da, p)
LEAKLAB_DELETE(operator delete(void* p, size_t s), dl_s, p, s)
LEAKLAB_DELETE(operator delete[](void* p, size_t s), da_s, p, s)
LEAKLAB_DELETE(operator delete(void* p, std::align_val_t a), dl_a, p, a)
LEAKLAB_DELETE(operator delete[](void* p, std::align_val_t a), da_a, p, a)
LEAKLAB_DELETE(operator delete(void* p, size_t s, std::align_val_t a), dl_sa, p, s, a)
LEAKLAB_DELETE(operator delete[](void* p, size_t s, std::align_val_t a), da_sa, p, s, a)
LEAKLAB_DELETE(operator delete(void* p, const std::nothrow_t& t), dl_nt, p, t)
LEAKLAB_DELETE(operator delete[](void* p, const std::nothrow_t& t), da_nt, p, t)
LEAKLAB_DELETE(operator delete(void* p, std::align_val_t a, const std::nothrow_t& t), dl_a_nt, p, a, t)
LEAKLAB_DELETE(operator delete[](void* p, std::align_val_t a, const std::nothrow_t& t), da_a_nt, p, a, t)

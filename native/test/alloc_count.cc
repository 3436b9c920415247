// libleaklab_alloc_count.so: a test-only LD_PRELOAD shim that counts, per thread, the calls
// a process makes to malloc and its family (malloc, calloc, realloc, the memalign family,
// operator new and new[]) and to free / operator delete, and forwards each call to the
// next definition (the relay's real allocator: glibc, tcmalloc, jemalloc or mimalloc, all
// of which also define operator new, so new is counted here too).
//
// The relay looks up leaklab_alloc_calls() with dlsym at start; when found, its `stats`
// replies carry the admin thread's counts (test/native/observer.test.ts). Never used in a
// measured run: it adds a call and a TLS increment to every allocation.
#include <dlfcn.h>
#include <malloc.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

namespace {

#define LEAKLAB_TLS __attribute__((tls_model("initial-exec")))
thread_local uint64_t t_allocs LEAKLAB_TLS = 0;
thread_local uint64_t t_frees LEAKLAB_TLS = 0;
thread_local uint64_t t_null_frees LEAKLAB_TLS = 0;  // delete nullptr: not a call that frees

// dlsym() may allocate (calloc) while we resolve the real functions; those calls are
// served from this buffer and never freed.
alignas(64) char g_boot[4096];
size_t g_boot_used = 0;
thread_local bool t_resolving LEAKLAB_TLS = false;
// >0 while forwarding: libstdc++'s operator new (glibc relay) calls malloc, which must not
// count a second time.
thread_local int t_depth LEAKLAB_TLS = 0;

// Counts one call (if not nested in another counted call) for the scope of the forward.
struct Counted {
  explicit Counted(uint64_t* counter) {
    if (t_depth++ == 0) ++*counter;
  }
  ~Counted() { --t_depth; }
};

void* BootAlloc(size_t n) {
  n = (n + 15) & ~size_t{15};
  if (g_boot_used + n > sizeof g_boot) return nullptr;
  void* p = g_boot + g_boot_used;
  g_boot_used += n;
  return p;
}
bool IsBoot(void* p) { return p >= g_boot && p < g_boot + sizeof g_boot; }

template <typename Fn>
Fn Next(Fn* slot, const char* name) {
  if (*slot == nullptr) {
    t_resolving = true;
    *slot = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
    t_resolving = false;
  }
  return *slot;
}

using MallocFn = void* (*)(size_t);
using FreeFn = void (*)(void*);
using CallocFn = void* (*)(size_t, size_t);
using ReallocFn = void* (*)(void*, size_t);
using MemalignFn = void* (*)(size_t, size_t);
using PosixMemalignFn = int (*)(void**, size_t, size_t);
using NewFn = void* (*)(size_t);
using NewNothrowFn = void* (*)(size_t, const std::nothrow_t&);
using NewAlignFn = void* (*)(size_t, std::align_val_t);
using DeleteFn = void (*)(void*);
using DeleteSizedFn = void (*)(void*, size_t);
using DeleteAlignFn = void (*)(void*, std::align_val_t);
using DeleteSizedAlignFn = void (*)(void*, size_t, std::align_val_t);

MallocFn g_malloc;
FreeFn g_free;
CallocFn g_calloc;
ReallocFn g_realloc;
MemalignFn g_memalign, g_aligned_alloc;
PosixMemalignFn g_posix_memalign;
NewFn g_new, g_new_array;
NewNothrowFn g_new_nothrow, g_new_array_nothrow;
NewAlignFn g_new_align, g_new_array_align;
DeleteFn g_delete, g_delete_array;
DeleteSizedFn g_delete_sized, g_delete_array_sized;
DeleteAlignFn g_delete_align, g_delete_array_align;
DeleteSizedAlignFn g_delete_sized_align, g_delete_array_sized_align;

}  // namespace

extern "C" {

// This thread's counts so far; `frees` may be null.
__attribute__((visibility("default"))) uint64_t leaklab_alloc_calls(uint64_t* frees) {
  if (frees) *frees = t_frees;
  return t_allocs;
}

void* malloc(size_t n) {
  if (t_resolving) return BootAlloc(n);
  Counted c(&t_allocs);
  return Next(&g_malloc, "malloc")(n);
}

void free(void* p) {
  // Inside dlsym() (resolving): a block freed there cannot be forwarded yet, and looking
  // free up again would recurse into dlsym until the stack ran out. It is left alone.
  if (p == nullptr || IsBoot(p) || t_resolving) return;
  Counted c(&t_frees);
  Next(&g_free, "free")(p);
}

void* calloc(size_t n, size_t size) {
  if (t_resolving) {
    void* p = BootAlloc(n * size);
    if (p) std::memset(p, 0, n * size);
    return p;
  }
  Counted c(&t_allocs);
  return Next(&g_calloc, "calloc")(n, size);
}

void* realloc(void* p, size_t n) {
  Counted c(&t_allocs);
  if (IsBoot(p)) {
    void* q = Next(&g_malloc, "malloc")(n);
    const size_t room = static_cast<size_t>(g_boot + sizeof g_boot - static_cast<char*>(p));
    if (q) std::memcpy(q, p, n < room ? n : room);
    return q;
  }
  return Next(&g_realloc, "realloc")(p, n);
}

void* memalign(size_t align, size_t n) {
  Counted c(&t_allocs);
  return Next(&g_memalign, "memalign")(align, n);
}

void* aligned_alloc(size_t align, size_t n) {
  Counted c(&t_allocs);
  return Next(&g_aligned_alloc, "aligned_alloc")(align, n);
}

int posix_memalign(void** out, size_t align, size_t n) {
  Counted c(&t_allocs);
  return Next(&g_posix_memalign, "posix_memalign")(out, align, n);
}

}  // extern "C"

void* operator new(size_t n) {
  Counted c(&t_allocs);
  return Next(&g_new, "_Znwm")(n);
}
void* operator new[](size_t n) {
  Counted c(&t_allocs);
  return Next(&g_new_array, "_Znam")(n);
}
void* operator new(size_t n, const std::nothrow_t& t) noexcept {
  Counted c(&t_allocs);
  return Next(&g_new_nothrow, "_ZnwmRKSt9nothrow_t")(n, t);
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept {
  Counted c(&t_allocs);
  return Next(&g_new_array_nothrow, "_ZnamRKSt9nothrow_t")(n, t);
}
void* operator new(size_t n, std::align_val_t a) {
  Counted c(&t_allocs);
  return Next(&g_new_align, "_ZnwmSt11align_val_t")(n, a);
}
void* operator new[](size_t n, std::align_val_t a) {
  Counted c(&t_allocs);
  return Next(&g_new_array_align, "_ZnamSt11align_val_t")(n, a);
}
void operator delete(void* p) noexcept {
  Counted c(p ? &t_frees : &t_null_frees);
  Next(&g_delete, "_ZdlPv")(p);
}
void operator delete[](void* p) noexcept {
  Counted c(p ? &t_frees : &t_null_frees);
  Next(&g_delete_array, "_ZdaPv")(p);
}
void operator delete(void* p, size_t n) noexcept {
  Counted c(p ? &t_frees : &t_null_frees);
  Next(&g_delete_sized, "_ZdlPvm")(p, n);
}
void operator delete[](void* p, size_t n) noexcept {
  Counted c(p ? &t_frees : &t_null_frees);
  Next(&g_delete_array_sized, "_ZdaPvm")(p, n);
}
void operator delete(void* p, std::align_val_t a) noexcept {
  Counted c(p ? &t_frees : &t_null_frees);
  Next(&g_delete_align, "_ZdlPvSt11align_val_t")(p, a);
}
void operator delete[](void* p, std::align_val_t a) noexcept {
  Counted c(p ? &t_frees : &t_null_frees);
  Next(&g_delete_array_align, "_ZdaPvSt11align_val_t")(p, a);
}
void operator delete(void* p, size_t n, std::align_val_t a) noexcept {
  Counted c(p ? &t_frees : &t_null_frees);
  Next(&g_delete_sized_align, "_ZdlPvmSt11align_val_t")(p, n, a);
}
void operator delete[](void* p, size_t n, std::align_val_t a) noexcept {
  Counted c(p ? &t_frees : &t_null_frees);
  Next(&g_delete_array_sized_align, "_ZdaPvmSt11align_val_t")(p, n, a);
}

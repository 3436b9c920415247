// The probe's side of the allocator layer: which shared object serves malloc() in a
// process the lab did not build, and the adapter for the allocator whose API lives in that
// same object (each allocator file's resolved binding, found with dlsym at run time).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "alloc/adapter.h"

namespace leaklab::alloc {

// The shared object (or executable) that defines the `malloc` this process resolves to.
struct MallocObject {
  const void* base = nullptr;  // dladdr()'s dli_fbase
  std::string path;            // e.g. "/lib/x86_64-linux-gnu/libtcmalloc.so.4"
  std::string name;            // the file name alone, e.g. "libtcmalloc.so.4"
};

// A symbol that shows an allocator's API in the process, and how reports name it.
struct ApiMark {
  const char* symbol;
  const char* label;
};

// One allocator's resolved binding: each allocator file defines one (extern const Binder
// k<Name>Binder), and resolve.cc lists them in the order it tries them.
struct Binder {
  // The adapter, or null when this allocator does not serve malloc in `object`.
  std::unique_ptr<Adapter> (*resolve)(const struct MallocObject& object);
  const ApiMark* marks;  // for OtherAllocators
  size_t mark_count;
};

// Where `malloc` comes from, looking past the probe's own counting layer and the test
// shim (native/test/alloc_count.cc); base null and name "unknown" when dladdr cannot tell.
MallocObject FindMallocObject();
// dlsym(RTLD_DEFAULT, name), but only when the symbol is defined in `object`.
void* SymbolIn(const MallocObject& object, const char* name);
// SymbolIn as a function pointer of type Fn.
template <typename Fn>
Fn SymbolAs(const MallocObject& object, const char* name) {
  return reinterpret_cast<Fn>(SymbolIn(object, name));
}
// The first allocator that claims the process, else the unknown adapter (unknown.cc).
std::unique_ptr<Adapter> Resolve(const MallocObject& object);
std::unique_ptr<Adapter> ResolveUnknown(const MallocObject& object);
// Allocator APIs present in the process but not serving malloc (e.g. Redis's
// libjemalloc.so.2 when libtcmalloc is preloaded): ["jemalloc (libjemalloc.so.2)", ...].
std::vector<std::string> OtherAllocators(const MallocObject& object);

}  // namespace leaklab::alloc

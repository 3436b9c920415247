// Which allocator serves malloc() here: the object whose own `malloc` the process calls,
// then each allocator's resolved binding, kept only when its API lives in that same object.
#include "alloc/resolve.h"

#include <dlfcn.h>
#include <link.h>

#include <cstring>

namespace leaklab::alloc {
namespace {

}  // namespace

// Each defined in its allocator's file (alloc/<name>.cc).
extern const Binder kGlibcBinder, kTcmallocBinder, kJemallocBinder, kMimallocBinder;

namespace {

// Detection order: an allocator with its own API before glibc, which every process has.
const Binder* const kBinders[] = {&kJemallocBinder, &kTcmallocBinder, &kMimallocBinder, &kGlibcBinder};

const void* ObjectBase(const void* symbol, std::string* name) {
  Dl_info info{};
  if (symbol == nullptr || dladdr(symbol, &info) == 0) return nullptr;
  if (name != nullptr && info.dli_fname != nullptr) {
    const char* slash = std::strrchr(info.dli_fname, '/');
    *name = slash ? slash + 1 : info.dli_fname;
  }
  return info.dli_fbase;
}

// The first `malloc` in the process's search order that is neither the probe's own (its
// counting layer, probe/probe_count.cc, when the probe is first in LD_PRELOAD) nor the test
// shim's (native/test/alloc_count.cc, which defines leaklab_alloc_calls): the objects in
// load order, each asked for its own definition. The names are copied out of
// dl_iterate_phdr into a static table first: dlsym may malloc, and a malloc under
// dl_iterate_phdr's lock deadlocked against gperftools' heap checker, whose malloc hook
// unwinds the stack with libunwind, which takes its own lock and then dl_iterate_phdr's.
struct Objects {
  static constexpr int kMax = 256;
  char names[kMax][512];
  int count = 0;
};
Objects g_objects;  // FindMallocObject's caller only (the probe thread, or under its lock)

int Collect(dl_phdr_info* info, size_t, void* arg) {
  auto* o = static_cast<Objects*>(arg);
  if (o->count == Objects::kMax) return 1;
  const char* name = info->dlpi_name != nullptr ? info->dlpi_name : "";
  std::strncpy(o->names[o->count], name, sizeof o->names[0] - 1);
  o->names[o->count][sizeof o->names[0] - 1] = '\0';
  ++o->count;
  return 0;
}

// `name`'s own malloc ("" = the main program), else null.
void* OwnMalloc(const char* name, const void* probe_base) {
  const bool main_program = name[0] == '\0';
  void* handle = dlopen(main_program ? nullptr : name, RTLD_LAZY | RTLD_NOLOAD);
  if (handle == nullptr) return nullptr;
  // dlsym(handle) searches the object's dependencies too: keep only its own definition.
  void* sym = dlsym(handle, "malloc");
  Dl_info where{};
  const bool defined_here = sym != nullptr && dladdr(sym, &where) != 0 && where.dli_fname != nullptr &&
                            std::strcmp(where.dli_fname, name) == 0;
  const bool skip = !defined_here || where.dli_fbase == probe_base ||
                    ObjectBase(dlsym(handle, "leaklab_alloc_calls"), nullptr) == where.dli_fbase;
  dlclose(handle);
  return skip ? nullptr : sym;
}

void* ServingMalloc() {
  const void* probe_base = ObjectBase(reinterpret_cast<const void*>(&FindMallocObject), nullptr);
  g_objects.count = 0;
  dl_iterate_phdr(&Collect, &g_objects);
  for (int i = 0; i < g_objects.count; ++i)
    if (void* sym = OwnMalloc(g_objects.names[i], probe_base)) return sym;
  return dlsym(RTLD_NEXT, "malloc");
}

}  // namespace

MallocObject FindMallocObject() {
  MallocObject o;
  Dl_info info{};
  void* sym = ServingMalloc();
  if (sym == nullptr || dladdr(sym, &info) == 0 || info.dli_fname == nullptr) {
    o.name = o.path = "unknown";
    return o;
  }
  o.base = info.dli_fbase;
  o.path = info.dli_fname;
  // The main program shows as "" in dli_fname.
  if (o.path.empty()) o.path = "(main program)";
  const char* slash = std::strrchr(o.path.c_str(), '/');
  o.name = slash ? slash + 1 : o.path;
  return o;
}

void* SymbolIn(const MallocObject& object, const char* name) {
  if (object.base == nullptr) return nullptr;
  void* sym = dlsym(RTLD_DEFAULT, name);
  return sym != nullptr && ObjectBase(sym, nullptr) == object.base ? sym : nullptr;
}

std::unique_ptr<Adapter> Resolve(const MallocObject& object) {
  for (const Binder* b : kBinders)
    if (auto a = b->resolve(object)) return a;
  return ResolveUnknown(object);
}

std::vector<std::string> OtherAllocators(const MallocObject& object) {
  std::vector<std::string> out;
  for (const Binder* b : kBinders) {
    for (size_t i = 0; i < b->mark_count; ++i) {
      std::string name;
      const void* base = ObjectBase(dlsym(RTLD_DEFAULT, b->marks[i].symbol), &name);
      if (base == nullptr || base == object.base) continue;
      out.push_back(std::string(b->marks[i].label) + " (" + (name.empty() ? "main program" : name) + ")");
    }
  }
  return out;
}

}  // namespace leaklab::alloc

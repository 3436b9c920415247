// Test hook shared by the relay's admin port and the probe: leaklab_alloc_calls() of the
// counting shim (native/test/alloc_count.cc) when it is preloaded, else nothing. It counts
// the calling thread's malloc-family and free-family calls; stats replies then carry
// test_alloc_calls {thread_allocs, thread_frees, last_handle_allocs, last_handle_frees}
// (test/native/observer.test.ts: zero per counters poll).
#pragma once

#include <dlfcn.h>

#include <cstdint>

#include "json_writer.h"

namespace leaklab {

class AllocCallsHook {
 public:
  // Looks the shim up (dlsym allocates: call once, at start).
  void Find() { fn_ = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "leaklab_alloc_calls")); }
  bool active() const { return fn_ != nullptr; }
  // Around one command: Begin() before, End() after.
  void Begin() {
    if (fn_) begin_allocs_ = fn_(&begin_frees_);
  }
  void End() {
    if (!fn_) return;
    uint64_t frees = 0;
    last_allocs_ = fn_(&frees) - begin_allocs_;
    last_frees_ = frees - begin_frees_;
  }
  // This thread's counts so far (0 without the shim).
  uint64_t Now(uint64_t* frees) const { return fn_ ? fn_(frees) : 0; }
  // test_alloc_calls, when the shim is there; `allocs`/`frees` from Now().
  void Write(JsonWriter& j, uint64_t allocs, uint64_t frees) const {
    if (!fn_) return;
    j.BeginObject("test_alloc_calls");
    j.Uint("thread_allocs", allocs);
    j.Uint("thread_frees", frees);
    j.Uint("last_handle_allocs", last_allocs_);
    j.Uint("last_handle_frees", last_frees_);
    j.EndObject();
  }

 private:
  using Fn = uint64_t (*)(uint64_t* frees);
  Fn fn_ = nullptr;
  uint64_t begin_allocs_ = 0, begin_frees_ = 0;
  uint64_t last_allocs_ = 0, last_frees_ = 0;
};

}  // namespace leaklab

#include "leak_check.h"

#include <dlfcn.h>
#include <time.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace leaklab {
namespace {

double NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double Round3(double ms) { return std::round(ms * 1000) / 1000; }

}  // namespace

std::string LeakCheckReply() {
  using LsanFn = int (*)();
  using HeapCheckFn = bool (*)();
  nlohmann::ordered_json j;
  auto run = [&j](const char* checker, auto call, auto leaks) {
    const double t0 = NowMs();
    const auto result = call();
    j["ok"] = true;
    j["checker"] = checker;
    j["result"] = result;
    j["leaks"] = leaks(result);
    j["ms"] = Round3(NowMs() - t0);
    return j.dump();
  };
  // LeakSanitizer: nonzero when it found leaks; the process goes on (recoverable).
  if (auto lsan = reinterpret_cast<LsanFn>(dlsym(RTLD_DEFAULT, "__lsan_do_recoverable_leak_check")))
    return run("lsan", lsan, [](int rc) { return rc != 0; });
  // HeapLeakChecker::NoGlobalLeaks(): true when the whole-program check found none; it
  // prints its report (and the pprof command) to stderr.
  if (auto heap = reinterpret_cast<HeapCheckFn>(dlsym(RTLD_DEFAULT, "_ZN15HeapLeakChecker13NoGlobalLeaksEv")))
    return run("heapcheck", heap, [](bool none) { return !none; });
  j["ok"] = false;
  j["checker"] = nullptr;
  j["error"] =
      "no leak checker is loaded in this process: preload the AddressSanitizer runtime "
      "(LeakSanitizer) or run under gperftools tcmalloc with HEAPCHECK=normal";
  return j.dump();
}

}  // namespace leaklab

// The `leak-check` control command, shared by the relay's admin port and the probe: runs
// whichever leak checker is loaded in the process, found with dlsym(RTLD_DEFAULT):
// LeakSanitizer's __lsan_do_recoverable_leak_check() (the AddressSanitizer runtime
// preloaded) or gperftools' HeapLeakChecker::NoGlobalLeaks() (tcmalloc with HEAPCHECK).
// Reply: {"ok":true,"checker":"lsan"|"heapcheck","result":<int|bool>,"leaks":bool,"ms":N},
// or {"ok":false,"checker":null,"error":"no leak checker is loaded ..."} (native/PROTOCOL.md).
#pragma once

#include <string>

namespace leaklab {

std::string LeakCheckReply();

}  // namespace leaklab

// The `ledger` reply's arena part, written once for the relay's and the probe's admin port
// (command_handler.cc) and for the inspector's malloc-info of a live glibc process
// (inspect/inspect_main.cc), so the harness reads one shape (native/PROTOCOL.md, `ledger`).
#pragma once

#include "alloc/adapter.h"
#include "json_writer.h"

namespace leaklab {

// "arenas":[...] (past Ledger::kMaxArenas, one entry with "index":null and "arenas":N sums
// the rest), "mmapped_bytes", "mmapped_chunks", "truncated". Allocates nothing.
void WriteLedgerArenas(JsonWriter& j, const alloc::Ledger& l);

}  // namespace leaklab

#include "control/ledger_json.h"

namespace leaklab {

namespace {

void WriteArena(JsonWriter& j, const alloc::ArenaLedger& a, bool aggregate, int64_t arenas) {
  j.BeginObject(nullptr);
  if (aggregate) {
    j.Null("index");
    j.Int("arenas", arenas);
  } else {
    j.Int("index", a.index);
  }
  j.Bool("main", a.main);
  j.Int("fast_bytes", a.fast_bytes);
  j.Int("fast_chunks", a.fast_chunks);
  j.Int("bins_bytes", a.bins_bytes);
  j.Int("bins_chunks", a.bins_chunks);
  j.Int("top_bytes", a.top_bytes);
  j.Int("system_bytes", a.system_bytes);
  j.EndObject();
}

}  // namespace

void WriteLedgerArenas(JsonWriter& j, const alloc::Ledger& l) {
  j.BeginArray("arenas");
  for (int i = 0; i < l.count; ++i) WriteArena(j, l.arenas[i], false, 1);
  if (l.truncated) WriteArena(j, l.rest, true, l.rest_arenas);
  j.EndArray();
  j.Int("mmapped_bytes", l.mmapped_bytes);
  j.Int("mmapped_chunks", l.mmapped_chunks);
  j.Bool("truncated", l.truncated);
}

}  // namespace leaklab

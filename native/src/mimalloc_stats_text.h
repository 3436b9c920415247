// Reads mimalloc's mi_stats_print_out() text: the only place a release build of mimalloc
// shows its OS-level counters. Pure string handling, shared by the relay
// (alloc_mimalloc.cc) and the probe (probe/probe_mimalloc.cc).
#pragma once



namespace leaklab {

// "current" column (4th amount) of a line like
// "  reserved:  128.0 MiB  128.0 MiB      0      128.0 MiB", in bytes. Amounts are printed
// with one decimal, so the result is approximate (+-0.05 of the unit). False if absent.
bool ParseMimallocCurrent(const char* text, const char* label, double* out);

}  // namespace leaklab

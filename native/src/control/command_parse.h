// The admin command language shared by the relay's admin port and the probe: which command
// a payload names, and the error replies. Apart from the handler (command_handler.h) so
// the fuzzer (native/fuzz/frame_fuzz.cc) links it without a host.
#pragma once

#include <string>

namespace leaklab {

enum class Command { kPing, kStats, kStatsCounters, kRelease, kLeakCheck, kProfileDump, kLedger,
                     kConfig, kSet, kUnknown };

// Which command `payload` names; for kSet, *args is what follows "set"; for kProfileDump,
// the path after "profile-dump ". (The fuzzer, native/fuzz/frame_fuzz.cc, calls it too.)
Command ParseCommand(const std::string& payload, std::string* args);

// {"ok":false,"error":message}; bytes that are not UTF-8 (from the command) are replaced.
std::string ErrorReply(const std::string& message);

// The reply to a payload that names no command: the error (quoting at most its first 64
// bytes, see quote.h), with the valid commands. `kind`: "admin" (relay) or "probe";
// `host_commands`: the host's own commands, appended to the list (", config, ...").
std::string UnknownCommandReply(const char* kind, const std::string& payload, const char* host_commands);

}  // namespace leaklab

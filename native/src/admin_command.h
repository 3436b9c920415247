// The admin port's command language, apart from the relay it acts on: which command a
// payload names, and `set`, which touches only RelaySettings. Admin (admin.cc) runs the
// rest; the fuzzer (native/fuzz/frame_fuzz.cc) calls these without a relay.
#pragma once

#include <string>

#include "relay_settings.h"

namespace leaklab {

enum class AdminCommand { kPing, kStats, kStatsCounters, kRelease, kConfig, kSet, kProfileDump,
                          kLeakCheck, kUnknown };

// Which command `payload` names; for kSet, *args is what follows "set"; for kProfileDump,
// the path after "profile-dump ".
AdminCommand ParseAdminCommand(const std::string& payload, std::string* args);

// {"ok":false,"error":message}; bytes that are not UTF-8 (from the command) are replaced.
std::string AdminErrorReply(const std::string& message);

// The reply to a payload that names no command: the error (quoting at most its first 64
// bytes, see quote.h), with the valid commands.
std::string UnknownCommandReply(const std::string& payload);

// Runs "set <key> <value>" (`args` is what follows "set") on `settings`. The reply:
// {"ok":true,"key":...,"value":...}, or an error naming the keys or the valid range.
std::string RunSetCommand(RelaySettings& settings, const std::string& args);

}  // namespace leaklab

#include "control/command_parse.h"

#include <nlohmann/json.hpp>

#include "quote.h"

namespace leaklab {

Command ParseCommand(const std::string& payload, std::string* args) {
  if (payload == "ping") return Command::kPing;
  if (payload == "stats") return Command::kStats;
  if (payload == "stats-counters") return Command::kStatsCounters;
  if (payload == "release") return Command::kRelease;
  if (payload == "config") return Command::kConfig;
  if (payload == "leak-check") return Command::kLeakCheck;
  if (payload == "ledger") return Command::kLedger;
  if (payload == "set" || payload.rfind("set ", 0) == 0) {
    *args = payload.substr(3);
    return Command::kSet;
  }
  if (payload == "profile-dump" || payload.rfind("profile-dump ", 0) == 0) {
    *args = payload.size() > 13 ? payload.substr(13) : "";
    return Command::kProfileDump;
  }
  return Command::kUnknown;
}

std::string ErrorReply(const std::string& message) {
  return nlohmann::json{{"ok", false}, {"error", message}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string UnknownCommandReply(const char* kind, const std::string& payload, const char* host_commands) {
  return ErrorReply(std::string("unknown ") + kind + " command " + Quote(payload) +
                    "; valid: ping, stats, stats-counters, release, leak-check, profile-dump <path>, ledger" +
                    host_commands);
}

}  // namespace leaklab

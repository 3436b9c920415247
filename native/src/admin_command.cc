#include "admin_command.h"

#include <nlohmann/json.hpp>

#include "quote.h"

namespace leaklab {

AdminCommand ParseAdminCommand(const std::string& payload, std::string* args) {
  if (payload == "ping") return AdminCommand::kPing;
  if (payload == "stats") return AdminCommand::kStats;
  if (payload == "stats-counters") return AdminCommand::kStatsCounters;
  if (payload == "release") return AdminCommand::kRelease;
  if (payload == "config") return AdminCommand::kConfig;
  if (payload == "leak-check") return AdminCommand::kLeakCheck;
  if (payload == "set" || payload.rfind("set ", 0) == 0) {
    *args = payload.substr(3);
    return AdminCommand::kSet;
  }
  if (payload == "profile-dump" || payload.rfind("profile-dump ", 0) == 0) {
    *args = payload.size() > 13 ? payload.substr(13) : "";
    return AdminCommand::kProfileDump;
  }
  return AdminCommand::kUnknown;
}

std::string AdminErrorReply(const std::string& message) {
  return nlohmann::json{{"ok", false}, {"error", message}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string UnknownCommandReply(const std::string& payload) {
  return AdminErrorReply("unknown admin command " + Quote(payload) +
                         "; valid: ping, stats, stats-counters, release, leak-check, config, set <key> <value>, profile-dump <path>");
}

std::string RunSetCommand(RelaySettings& settings, const std::string& args) {
  const size_t key_begin = args.find_first_not_of(' ');
  const size_t key_end = args.find(' ', key_begin);
  const size_t value_begin =
      key_end == std::string::npos ? std::string::npos : args.find_first_not_of(' ', key_end);
  if (value_begin == std::string::npos || args.find(' ', value_begin) != std::string::npos)
    return AdminErrorReply("usage: set <key> <value>; keys: " + RelaySettings::KeysWithRanges());
  const std::string key = args.substr(key_begin, key_end - key_begin);
  const std::string value = args.substr(value_begin);
  std::string error;
  if (!settings.Set(key, value, &error)) return AdminErrorReply(error);
  nlohmann::ordered_json j;
  j["ok"] = true;
  j["key"] = key;
  j["value"] = settings.Get(key);
  return j.dump();
}

}  // namespace leaklab

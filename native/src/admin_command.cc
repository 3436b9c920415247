#include "admin_command.h"

#include <nlohmann/json.hpp>


namespace leaklab {

std::string RunSetCommand(RelaySettings& settings, const std::string& args) {
  const size_t key_begin = args.find_first_not_of(' ');
  const size_t key_end = args.find(' ', key_begin);
  const size_t value_begin =
      key_end == std::string::npos ? std::string::npos : args.find_first_not_of(' ', key_end);
  if (value_begin == std::string::npos || args.find(' ', value_begin) != std::string::npos)
    return ErrorReply("usage: set <key> <value>; keys: " + RelaySettings::KeysWithRanges());
  const std::string key = args.substr(key_begin, key_end - key_begin);
  const std::string value = args.substr(value_begin);
  std::string error;
  if (!settings.Set(key, value, &error)) return ErrorReply(error);
  nlohmann::ordered_json j;
  j["ok"] = true;
  j["key"] = key;
  j["value"] = settings.Get(key);
  return j.dump();
}

}  // namespace leaklab

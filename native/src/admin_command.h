// `set`, the relay's command that touches only RelaySettings, apart from the relay it acts
// on: the fuzzer (native/fuzz/frame_fuzz.cc) calls it without a relay. The rest of the
// command language is shared with the probe (control/command_parse.h).
#pragma once

#include <string>

#include "control/command_parse.h"
#include "relay_settings.h"

namespace leaklab {

// Runs "set <key> <value>" (`args` is what follows "set") on `settings`. The reply:
// {"ok":true,"key":...,"value":...}, or an error naming the keys or the valid range.
std::string RunSetCommand(RelaySettings& settings, const std::string& args);

}  // namespace leaklab

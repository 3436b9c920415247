// loadgen: drives a seeded schedule of load phases against one port (the relay or the
// upstream) and reports JSON lines on stdout. See loadgen.h and schedule.h.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "codec.h"
#include "event_loop.h"
#include "flags.h"
#include "loadgen.h"
#include "net.h"
#include "schedule.h"
#include "signals.h"

namespace leaklab {
namespace {

const char kUsage[] =
    "usage: loadgen --port P --schedule FILE|- [--seed N] [--connections N]\n"
    "               [--max-frame N] [--print-sizes N]\n"
    "  --seed and --connections override the schedule's; --print-sizes N prints the first\n"
    "  N request sizes of each phase's distribution as JSON and exits (no --port needed)\n";

struct Options {
  uint64_t port = 0;
  std::string schedule_path;
  bool has_seed = false, has_connections = false, print_sizes = false;
  uint64_t seed = 0, connections = 0, print_count = 0;
  uint32_t max_frame = kDefaultMaxFrame;
};

Options ParseOptions(int argc, char** argv) {
  FlagParser flags(argc, argv, kUsage);
  Options o;
  std::string name, value;
  while (flags.Next(&name, &value)) {
    if (name == "port") {
      o.port = flags.U64(name, value, 1, 65535);
    } else if (name == "schedule") {
      if (value.empty()) flags.Fail("--schedule needs a file name or -");
      o.schedule_path = value;
    } else if (name == "seed") {
      o.seed = flags.U64(name, value, 0, UINT64_MAX);
      o.has_seed = true;
    } else if (name == "connections") {
      o.connections = flags.U64(name, value, 1, kMaxConnections);
      o.has_connections = true;
    } else if (name == "max-frame") {
      o.max_frame = static_cast<uint32_t>(flags.U64(name, value, 1, UINT32_MAX));
    } else if (name == "print-sizes") {
      o.print_count = flags.U64(name, value, 0, 10000000);
      o.print_sizes = true;
    } else {
      flags.Fail("unknown flag --" + name);
    }
  }
  if (o.schedule_path.empty()) flags.Fail("--schedule is required");
  if (o.port == 0 && !o.print_sizes) flags.Fail("--port is required");
  return o;
}

Schedule LoadSchedule(const Options& o) {
  std::string text;
  if (o.schedule_path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(o.schedule_path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "loadgen: --schedule: cannot read %s: %s\n", o.schedule_path.c_str(),
                   std::strerror(errno));
      std::exit(2);
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  Schedule schedule;
  std::string error;
  if (!ParseSchedule(text, o.max_frame, &schedule, &error)) {
    std::fprintf(stderr, "loadgen: %s\n", error.c_str());
    std::exit(2);
  }
  if (o.has_seed) schedule.seed = o.seed;
  if (o.has_connections) schedule.connections = o.connections;
  return schedule;
}

void PrintSizes(const Schedule& schedule, uint64_t count) {
  nlohmann::ordered_json out;
  out["seed"] = schedule.seed;
  out["phases"] = nlohmann::ordered_json::array();
  for (const Phase& phase : schedule.phases) {
    nlohmann::ordered_json p;
    p["name"] = phase.name;
    p["sizes"] = nlohmann::ordered_json::array();
    if (phase.load)
      for (uint64_t k = 0; k < count; ++k)
        p["sizes"].push_back(RequestSize(phase.load->size, schedule.seed, k));
    out["phases"].push_back(std::move(p));
  }
  std::printf("%s\n", out.dump().c_str());
}

}  // namespace
}  // namespace leaklab

int main(int argc, char** argv) {
  leaklab::DieWithParent();
  const int64_t start_us = leaklab::NowUs();
  leaklab::InstallExitSignals();
  const leaklab::Options opts = leaklab::ParseOptions(argc, argv);
  leaklab::Schedule schedule = leaklab::LoadSchedule(opts);
  if (opts.print_sizes) {
    leaklab::PrintSizes(schedule, opts.print_count);
    return 0;
  }
  leaklab::RaiseFdLimit();
  leaklab::LoadGen gen(std::move(schedule), static_cast<uint16_t>(opts.port), opts.max_frame,
                       start_us);
  std::string error;
  if (!gen.Connect(&error)) {
    std::fprintf(stderr, "loadgen: %s\n", error.c_str());
    return 1;
  }
  return gen.Run();
}

#include "schedule.h"

#include <cmath>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "rng.h"

namespace leaklab {
namespace {

using nlohmann::json;

struct FieldError : std::runtime_error {
  FieldError(const std::string& path, const std::string& what)
      : std::runtime_error(path + ": " + what) {}
};

void CheckKeys(const json& obj, const std::string& path,
               std::initializer_list<const char*> allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (ok) continue;
    std::string valid;
    for (const char* a : allowed) valid += std::string(valid.empty() ? "" : ", ") + a;
    throw FieldError(path.empty() ? it.key() : path + "." + it.key(),
                     "unknown key (valid: " + valid + ")");
  }
}

const json& Require(const json& obj, const std::string& path, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) throw FieldError(path.empty() ? key : path + "." + key, "is required");
  return *it;
}

void RequireObject(const json& v, const std::string& path) {
  if (!v.is_object()) throw FieldError(path, "must be an object");
}

std::string Join(const std::string& path, const char* key) {
  return path.empty() ? key : path + "." + key;
}

// A non-negative integer in [min, max]; integral floats such as 1e6 are accepted.
uint64_t Integer(const json& v, const std::string& path, uint64_t min, uint64_t max) {
  uint64_t out = 0;
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
  } else if (v.is_number_integer()) {
    throw FieldError(path, "must be >= " + std::to_string(min) + " (got " + v.dump() + ")");
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d < 0) throw FieldError(path, "must be >= " + std::to_string(min) + " (got " + v.dump() + ")");
    if (d != std::floor(d) || d > 1.8e19) throw FieldError(path, "must be an integer (got " + v.dump() + ")");
    out = static_cast<uint64_t>(d);
  } else {
    throw FieldError(path, "must be an integer (got " + v.dump() + ")");
  }
  if (out < min) throw FieldError(path, "must be >= " + std::to_string(min) + " (got " + v.dump() + ")");
  if (out > max) throw FieldError(path, "must be <= " + std::to_string(max) + " (got " + v.dump() + ")");
  return out;
}

double Number(const json& v, const std::string& path, double min, bool min_exclusive,
              double max) {
  if (!v.is_number()) throw FieldError(path, "must be a number (got " + v.dump() + ")");
  const double d = v.get<double>();
  if (min_exclusive ? !(d > min) : !(d >= min))
    throw FieldError(path, std::string("must be ") + (min_exclusive ? "> " : ">= ") +
                               json(min).dump() + " (got " + v.dump() + ")");
  if (!(d <= max))
    throw FieldError(path, "must be <= " + json(max).dump() + " (got " + v.dump() + ")");
  return d;
}

// A payload size: an integer in [0, max_frame].
uint32_t Bytes(const json& v, const std::string& path, uint32_t max_frame) {
  const uint64_t b = Integer(v, path, 0, UINT64_MAX);
  if (b > max_frame)
    throw FieldError(path, "must be <= max-frame (" + std::to_string(max_frame) + "), got " +
                               std::to_string(b));
  return static_cast<uint32_t>(b);
}

SizeDist ParseSize(const json& v, const std::string& path, uint32_t max_frame) {
  RequireObject(v, path);
  const json& dist = Require(v, path, "dist");
  const std::string dpath = Join(path, "dist");
  if (!dist.is_string()) throw FieldError(dpath, "must be one of \"fixed\", \"uniform\", \"lognormal\"");
  const std::string kind = dist.get<std::string>();
  SizeDist out;
  if (kind == "fixed") {
    CheckKeys(v, path, {"dist", "bytes"});
    out.kind = SizeDist::Kind::kFixed;
    out.bytes = Bytes(Require(v, path, "bytes"), Join(path, "bytes"), max_frame);
  } else if (kind == "uniform") {
    CheckKeys(v, path, {"dist", "min", "max"});
    out.kind = SizeDist::Kind::kUniform;
    out.min = Bytes(Require(v, path, "min"), Join(path, "min"), max_frame);
    const json& maxv = Require(v, path, "max");
    out.max = Bytes(maxv, Join(path, "max"), max_frame);
    if (out.max < out.min)
      throw FieldError(Join(path, "max"), "must be >= min (" + std::to_string(out.min) + ")");
  } else if (kind == "lognormal") {
    CheckKeys(v, path, {"dist", "median", "sigma", "max"});
    out.kind = SizeDist::Kind::kLognormal;
    out.median = Number(Require(v, path, "median"), Join(path, "median"), 0, true, max_frame);
    out.sigma = Number(Require(v, path, "sigma"), Join(path, "sigma"), 0, false, 10);
    out.max = max_frame;
    if (v.contains("max"))
      out.max = Bytes(v["max"], Join(path, "max"), max_frame);
  } else {
    throw FieldError(dpath, "must be one of \"fixed\", \"uniform\", \"lognormal\" (got " + dist.dump() + ")");
  }
  return out;
}

Load ParseLoad(const json& v, const std::string& path, uint32_t max_frame) {
  RequireObject(v, path);
  const json& mode = Require(v, path, "mode");
  Load out;
  if (mode == "closed") {
    CheckKeys(v, path, {"mode", "concurrency", "size", "reconnect_every", "requests"});
    out.mode = Load::Mode::kClosed;
    out.concurrency = Integer(Require(v, path, "concurrency"), Join(path, "concurrency"), 1, 10000000);
  } else if (mode == "open") {
    CheckKeys(v, path, {"mode", "rate", "max_in_flight", "size", "reconnect_every", "requests"});
    out.mode = Load::Mode::kOpen;
    out.rate = Number(Require(v, path, "rate"), Join(path, "rate"), 0, true, 10000000);
    out.max_in_flight = kDefaultMaxInFlight;
    if (v.contains("max_in_flight"))
      out.max_in_flight = Integer(v["max_in_flight"], Join(path, "max_in_flight"), 1, 10000000);
  } else {
    throw FieldError(Join(path, "mode"), "must be \"closed\" or \"open\" (got " + mode.dump() + ")");
  }
  out.size = ParseSize(Require(v, path, "size"), Join(path, "size"), max_frame);
  if (v.contains("reconnect_every"))
    out.reconnect_every = Integer(v["reconnect_every"], Join(path, "reconnect_every"), 0, 1000000000);
  if (v.contains("requests"))
    out.requests = Integer(v["requests"], Join(path, "requests"), 1, uint64_t{1} << 40);
  return out;
}

Schedule ParseTop(const json& v, uint32_t max_frame) {
  if (!v.is_object()) throw FieldError("(top level)", "must be an object");
  CheckKeys(v, "", {"seed", "connections", "phases"});
  Schedule out;
  if (v.contains("seed")) out.seed = Integer(v["seed"], "seed", 0, UINT64_MAX);
  if (v.contains("connections"))
    out.connections = Integer(v["connections"], "connections", 1, kMaxConnections);
  const json& phases = Require(v, "", "phases");
  if (!phases.is_array() || phases.empty())
    throw FieldError("phases", "must be a non-empty array of phases");
  for (size_t i = 0; i < phases.size(); ++i) {
    const std::string path = "phases[" + std::to_string(i) + "]";
    const json& p = phases[i];
    RequireObject(p, path);
    CheckKeys(p, path, {"name", "duration_ms", "load"});
    Phase phase;
    const json& name = Require(p, path, "name");
    if (!name.is_string() || name.get<std::string>().empty())
      throw FieldError(path + ".name", "must be a non-empty string");
    phase.name = name.get<std::string>();
    phase.duration_ms = Integer(Require(p, path, "duration_ms"), path + ".duration_ms", 1,
                                uint64_t{1} << 40);
    const json& load = Require(p, path, "load");
    if (!load.is_null()) phase.load = ParseLoad(load, path + ".load", max_frame);
    out.phases.push_back(std::move(phase));
  }
  return out;
}

}  // namespace

bool ParseSchedule(const std::string& text, uint32_t max_frame, Schedule* out,
                   std::string* error) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    *error = std::string("schedule: invalid JSON: ") + e.what();
    return false;
  }
  try {
    *out = ParseTop(doc, max_frame);
  } catch (const FieldError& e) {
    *error = std::string("schedule: ") + e.what();
    return false;
  }
  return true;
}

uint32_t RequestSize(const SizeDist& dist, uint64_t seed, uint64_t k) {
  const uint64_t h1 = SplitMix64(seed ^ (k * kGolden));
  switch (dist.kind) {
    case SizeDist::Kind::kFixed:
      return dist.bytes;
    case SizeDist::Kind::kUniform:
      return static_cast<uint32_t>(MapToRange(h1, dist.min, dist.max));
    case SizeDist::Kind::kLognormal: {
      const uint64_t h2 = SplitMix64(h1 ^ kGolden);
      const double z = std::sqrt(-2.0 * std::log(UnitInterval(h1))) *
                       std::cos(6.283185307179586 * UnitInterval(h2));
      const double v = std::round(dist.median * std::exp(dist.sigma * z));
      if (!(v >= 0)) return 0;
      if (v >= static_cast<double>(dist.max)) return dist.max;
      return static_cast<uint32_t>(v);
    }
  }
  return 0;
}

}  // namespace leaklab

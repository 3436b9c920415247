// libFuzzer target: the frame codec and the admin command parser, on arbitrary bytes.
// Built by -DLEAKLAB_FUZZ=ON with clang (`npm run bench -- fuzz`, test/native/fuzz.test.ts).
//
// Input: byte 0 seeds the split points, the rest is the byte stream. The stream is fed to
// a FrameReader in chunks of 1..64 bytes, as the relay's Connection does: through Next(),
// or, when a payload is half read, straight into it with DirectSpace()/CommitDirect(). Every
// frame is decoded; an ADMIN frame's payload goes to the admin command parser and `set` runs
// on a local RelaySettings. A readable probe (the relay's FIONREAD) reports a varying number
// of bytes waiting, so payload buffers are allocated past the input and grown. Beyond ASan
// and UBSan, two properties: `set` accepts no NUL, and a frame under way never holds more
// payload memory than max_frame (its growth bound is checked in native/test/codec_test.cc).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "admin_command.h"
#include "codec.h"
#include "relay_settings.h"

namespace {

using leaklab::FrameType;
using leaklab::TypeBit;

// Below the relay's 16 MiB default, so that a large length in a header costs little; still
// over libFuzzer's -max_len, so both "too long" and "never completes" are reached.
constexpr uint32_t kMaxFrame = 1u << 20;
constexpr uint32_t kAllTypes = TypeBit(FrameType::kRequest) | TypeBit(FrameType::kResponse) |
                               TypeBit(FrameType::kError) | TypeBit(FrameType::kAdmin) |
                               TypeBit(FrameType::kAdminReply);

void HandleFrame(const leaklab::Frame& frame, leaklab::RelaySettings& settings) {
  if (frame.header.type != FrameType::kAdmin) return;
  const std::string payload(frame.payload ? frame.payload : "", frame.header.length);
  std::string args;
  switch (leaklab::ParseCommand(payload, &args)) {
    case leaklab::Command::kSet: {
      const std::string reply = leaklab::RunSetCommand(settings, args);
      // A value with a NUL in it is not a number ("set leak-rate 0\0junk" once set 0).
      if (reply.rfind("{\"ok\":true", 0) == 0 && args.find('\0') != std::string::npos)
        std::abort();
      break;
    }
    case leaklab::Command::kUnknown: leaklab::UnknownCommandReply("admin", payload, ", config, set <key> <value>"); break;
    default: break;  // the others only read the relay's state: nothing more to parse
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint32_t rng = data[0] * 2654435761u + 1;  // split points: a tiny LCG seeded by byte 0
  const uint8_t* p = data + 1;
  size_t left = size - 1;
  leaklab::FrameReader reader(kMaxFrame, kAllTypes);
  // What the socket would hold beyond the chunk (FIONREAD): 0..1 MiB from the split-point
  // generator, so payload buffers are sized past the input and grown, as in the relay.
  reader.SetReadableProbe([&rng] { return static_cast<size_t>(rng >> 12); });
  leaklab::RelaySettings settings;
  std::string error;
  while (left > 0) {
    rng = rng * 1664525u + 1013904223u;
    size_t chunk = std::min<size_t>(left, 1 + (rng >> 26));  // 1..64 bytes
    left -= chunk;
    char* direct = nullptr;
    const size_t space = reader.DirectSpace(&direct);
    if (space > 0 && (rng & 0x100)) {  // the relay's read() straight into the payload
      const size_t n = std::min(space, chunk);
      std::memcpy(direct, p, n);
      reader.CommitDirect(n);
      p += n;
      chunk -= n;
    }
    for (;;) {  // the rest of the chunk (possibly none) through Next(), until it is used up
      leaklab::Frame frame;
      const leaklab::DecodeStatus st = reader.Next(&p, &chunk, &frame, &error);
      if (reader.PendingPayloadBytes() > kMaxFrame) std::abort();
      if (st == leaklab::DecodeStatus::kError) return 0;  // the relay closes the connection
      if (st == leaklab::DecodeStatus::kNeedMore) break;
      HandleFrame(frame, settings);
      std::free(frame.payload);
    }
  }
  return 0;
}

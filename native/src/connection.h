// One TCP connection on one EventLoop: frames in, frames out, back-pressure hooks.
// Every method is called on the thread that runs the connection's loop.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "codec.h"
#include "event_loop.h"

namespace leaklab {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  struct Handlers {
    // A complete frame; the handler owns frame.payload (free() it or pass it on).
    std::function<void(Connection&, Frame&&)> on_frame;
    // The connection is closed (fd removed); `reason` is empty for a clean EOF.
    std::function<void(Connection&, const std::string& reason)> on_close;
    // Output rose above the high-water mark / fell back below the low-water mark.
    std::function<void(Connection&)> on_high_water;
    std::function<void(Connection&)> on_low_water;
    // Optional: called instead of std::free() for every `owned` payload once it is written
    // or dropped (close, send after close), so owners can keep exact byte counts.
    // `type` is the frame type the payload was sent with; `payload` may be nullptr.
    std::function<void(FrameType type, char* payload, uint32_t length)> free_payload;
    // Optional: the peer has finished sending (read() saw end-of-stream; half-close).
    // Reading stops; the owner answers what it has received and then calls
    // CloseWhenFlushed(). Without this handler the connection flushes its output and closes.
    std::function<void(Connection&)> on_read_closed;
    // Optional: a payload buffer could not be allocated; the connection then answers with
    // an ERROR frame and closes, as for a bad header.
    std::function<void(Connection&)> on_alloc_failure;
  };

  Connection(EventLoop& loop, int fd, uint32_t max_frame, uint32_t allowed_types,
             Handlers handlers);
  ~Connection();

  // Registers with the loop; the loop keeps the connection alive until it closes.
  void Start();

  // Queues a frame. When `owned`, `payload` is free()d once written (or on close).
  void Send(FrameType type, uint64_t id, char* payload, uint32_t length, bool owned);
  // Queues a frame whose payload is `prefix` (at most kMaxPrefix bytes, copied) followed
  // by `rest`, which is not owned and must stay valid until written (e.g. one shared
  // read-only filler buffer), so large payloads cost no allocation and no memset.
  static constexpr size_t kMaxPrefix = 8;
  void SendPrefixed(FrameType type, uint64_t id, const uint8_t* prefix, size_t prefix_len,
                    const char* rest, uint32_t rest_len);
  // While corked, Send() only queues; the last Uncork() writes the queue with one writev.
  // Replies sent from on_frame to the same connection are corked automatically.
  void Cork() { ++cork_depth_; }
  void Uncork();
  // Queues an ERROR frame and closes the connection once it is written. If the peer may
  // still be sending, the close lingers: FIN, then its bytes are read and dropped for up to
  // kLingerMs (kLingerBytes), so our close does not answer them with a reset that could
  // destroy the ERROR frame before the peer reads it.
  static constexpr int kLingerMs = 1000;
  static constexpr size_t kLingerBytes = 64u << 20;
  void SendErrorAndClose(uint64_t id, const std::string& message);
  // Stops reading and sending; closes (cleanly: empty reason) once the output is written.
  void CloseWhenFlushed();
  void Close(const std::string& reason);

  void SetWaterMarks(size_t high, size_t low) {
    high_water_ = high;
    low_water_ = low;
  }
  // While paused, no byte is read and no frame is parsed: frames already read but not yet
  // parsed wait in the connection (at most one read, 64 KiB) until reading resumes, so an
  // owner that pauses from on_frame gets no further frame.
  void PauseReading(bool paused);
  bool reading_paused() const { return read_paused_; }
  size_t output_bytes() const { return output_bytes_; }
  bool closed() const { return closed_; }
  bool read_closed() const { return read_closed_; }
  int fd() const { return fd_; }
  // NowMs() of the last byte read from or written to the socket (or of Start()).
  int64_t last_io_ms() const { return last_io_ms_; }
  uint64_t tag = 0;  // free for the owner's use (e.g. a connection id)

 private:
  struct Segment {
    uint8_t header[kHeaderSize + kMaxPrefix];  // header, then an optional payload prefix
    size_t header_len;
    char* payload;
    size_t payload_len;
    size_t offset;  // bytes of header + payload already written
    bool owned;
  };
  void OnEvents(uint32_t events);
  void HandleRead();
  // Parses [data, data + size) into frames until it is used up, the connection pauses or
  // closes; returns the bytes consumed.
  size_t Parse(const uint8_t* data, size_t size);
  void OnEndOfStream();
  void FinishClose();  // the output is written and close_after_flush_ is set
  void Linger();       // reads and drops input until EOF, the byte or the time limit
  void HandleWrite();
  void UpdateInterest();
  void FreePayload(const Segment& seg);
  void Enqueue(const Segment& seg);

  EventLoop& loop_;
  int fd_;
  FrameReader reader_;
  Handlers handlers_;
  std::deque<Segment> output_;
  size_t output_bytes_ = 0;
  size_t high_water_ = 0;  // 0 = no back-pressure hooks
  size_t low_water_ = 0;
  bool above_high_ = false;
  bool read_paused_ = false;
  bool read_closed_ = false;  // end-of-stream seen
  std::vector<uint8_t> unparsed_;  // read but not parsed when reading paused mid-buffer
  bool resume_posted_ = false;
  bool close_after_flush_ = false;
  std::string close_reason_;  // given to on_close when closed after the flush
  bool lingering_ = false;
  size_t lingered_bytes_ = 0;
  int64_t last_io_ms_ = 0;
  bool closed_ = false;
  bool want_write_ = false;
  int cork_depth_ = 0;
  bool flush_scheduled_ = false;  // an end-of-batch Uncork() is queued on the loop
  uint32_t interest_ = 0;  // events last given to the loop
  std::shared_ptr<Connection> self_;  // keeps us alive while registered
};

}  // namespace leaklab

#include "connection.h"

#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace leaklab {
namespace {
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kDirectThreshold = 16 * 1024;
constexpr int kMaxReadsPerEvent = 16;
constexpr int kMaxIov = 64;
}  // namespace

Connection::Connection(EventLoop& loop, int fd, uint32_t max_frame, uint32_t allowed_types,
                       Handlers handlers)
    : loop_(loop), fd_(fd), reader_(max_frame, allowed_types), handlers_(std::move(handlers)) {}

Connection::~Connection() {
  for (auto& seg : output_) FreePayload(seg);
  if (!closed_) close(fd_);
}

void Connection::FreePayload(const Segment& seg) {
  if (!seg.owned) return;
  if (handlers_.free_payload)
    handlers_.free_payload(static_cast<FrameType>(seg.header[4]), seg.payload,
                           static_cast<uint32_t>(seg.payload_len));
  else
    std::free(seg.payload);
}

void Connection::Start() {
  self_ = shared_from_this();
  last_io_ms_ = NowMs();
  // What the kernel holds for us beyond what we have read: lets the reader allocate a
  // payload once, at its full length, when all of it has already arrived.
  reader_.SetReadableProbe([this] {
    int n = 0;
    return ioctl(fd_, FIONREAD, &n) == 0 && n > 0 ? static_cast<size_t>(n) : size_t{0};
  });
  interest_ = EPOLLIN | EPOLLRDHUP;
  loop_.Add(fd_, interest_, [this](uint32_t ev) { OnEvents(ev); });
}

void Connection::OnEvents(uint32_t events) {
  auto keep = self_;  // handlers may close us mid-dispatch
  if (events & EPOLLERR) return Close("socket error");
  if (lingering_) return (events & EPOLLHUP) ? Close(close_reason_) : Linger();
  if ((events & EPOLLHUP) && (read_paused_ || read_closed_ || close_after_flush_))
    return Close("hang up");
  if (events & EPOLLOUT) HandleWrite();
  if (!closed_ && (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))) {
    Cork();  // batch the replies on_frame sends to this connection
    HandleRead();
    Uncork();
  }
}

void Connection::HandleRead() {
  if (closed_ || read_paused_ || read_closed_ || close_after_flush_) return;
  if (!unparsed_.empty()) {  // what a pause left behind comes before any new byte
    const size_t used = Parse(unparsed_.data(), unparsed_.size());
    unparsed_.erase(unparsed_.begin(), unparsed_.begin() + static_cast<std::ptrdiff_t>(used));
    if (!unparsed_.empty() || closed_ || read_paused_ || close_after_flush_) return;
    std::vector<uint8_t>().swap(unparsed_);  // give its memory back
  }
  uint8_t buf[kReadChunk];
  for (int i = 0; i < kMaxReadsPerEvent && !closed_ && !read_paused_ && !close_after_flush_;
       ++i) {
    char* direct = nullptr;
    const size_t space = reader_.DirectSpace(&direct);
    const bool into_payload = space >= kDirectThreshold;
    const ssize_t n = into_payload ? read(fd_, direct, space) : read(fd_, buf, sizeof buf);
    if (n == 0) return OnEndOfStream();
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return Close(std::string("read: ") + std::strerror(errno));
    }
    last_io_ms_ = NowMs();
    if (into_payload) {
      reader_.CommitDirect(static_cast<size_t>(n));
      Parse(buf, 0);  // hands the frame over if that completed it
      continue;
    }
    const size_t used = Parse(buf, static_cast<size_t>(n));
    if (used < static_cast<size_t>(n)) {
      // Paused (or closing) mid-buffer: keep the rest for when reading resumes.
      if (!closed_ && !close_after_flush_) unparsed_.assign(buf + used, buf + n);
      return;
    }
    if (static_cast<size_t>(n) < sizeof buf) return;
  }
}

size_t Connection::Parse(const uint8_t* data, size_t size) {
  const uint8_t* p = data;
  size_t left = size;
  while (!closed_ && !read_paused_ && !close_after_flush_) {
    Frame frame;
    std::string error;
    const DecodeStatus st = reader_.Next(&p, &left, &frame, &error);
    if (st == DecodeStatus::kNeedMore) break;
    if (st == DecodeStatus::kError) {
      if (reader_.out_of_memory() && handlers_.on_alloc_failure) handlers_.on_alloc_failure(*this);
      SendErrorAndClose(0, error);
      break;
    }
    handlers_.on_frame(*this, std::move(frame));
  }
  return size - left;
}

void Connection::OnEndOfStream() {
  read_closed_ = true;
  UpdateInterest();
  if (handlers_.on_read_closed) handlers_.on_read_closed(*this);
  else CloseWhenFlushed();
}

void Connection::Send(FrameType type, uint64_t id, char* payload, uint32_t length, bool owned) {
  Segment seg;
  EncodeHeader(FrameHeader{length, type, id}, seg.header);
  seg.header_len = kHeaderSize;
  seg.payload = payload;
  seg.payload_len = length;
  seg.offset = 0;
  seg.owned = owned;
  if (closed_ || close_after_flush_) return FreePayload(seg);
  Enqueue(seg);
}

void Connection::SendPrefixed(FrameType type, uint64_t id, const uint8_t* prefix,
                              size_t prefix_len, const char* rest, uint32_t rest_len) {
  if (closed_ || close_after_flush_) return;
  if (prefix_len > kMaxPrefix) prefix_len = kMaxPrefix;
  Segment seg;
  EncodeHeader(FrameHeader{static_cast<uint32_t>(prefix_len + rest_len), type, id}, seg.header);
  if (prefix_len) std::memcpy(seg.header + kHeaderSize, prefix, prefix_len);
  seg.header_len = kHeaderSize + prefix_len;
  seg.payload = const_cast<char*>(rest);  // only read by writev, never freed (not owned)
  seg.payload_len = rest_len;
  seg.offset = 0;
  seg.owned = false;
  Enqueue(seg);
}

void Connection::Enqueue(const Segment& seg) {
  output_.push_back(seg);
  output_bytes_ += seg.header_len + seg.payload_len;
  if (high_water_ && !above_high_ && output_bytes_ > high_water_) {
    above_high_ = true;
    if (handlers_.on_high_water) handlers_.on_high_water(*this);
  }
  if (want_write_) return;  // EPOLLOUT will write it
  if (loop_.dispatching() && !flush_scheduled_) {
    // Inside an event batch: write once at the end of the batch, so every frame queued
    // for this connection by this batch's events and tasks goes out in one writev.
    flush_scheduled_ = true;
    Cork();
    loop_.RunAfterBatch([self = shared_from_this()] {
      self->flush_scheduled_ = false;
      self->Uncork();
    });
    return;
  }
  if (cork_depth_ == 0) HandleWrite();
}

void Connection::Uncork() {
  if (cork_depth_ > 0 && --cork_depth_ == 0 && !closed_ && !want_write_ && !output_.empty())
    HandleWrite();
}

void Connection::SendErrorAndClose(uint64_t id, const std::string& message) {
  if (closed_) return;
  char* copy = static_cast<char*>(std::malloc(message.size() + 1));
  if (copy == nullptr) return Close(message);  // out of memory: no ERROR frame then
  std::memcpy(copy, message.data(), message.size());
  Send(FrameType::kError, id, copy, static_cast<uint32_t>(message.size()), true);
  if (!close_after_flush_) close_reason_ = message;
  close_after_flush_ = true;
  if (output_.empty()) FinishClose();
  else UpdateInterest();
}

void Connection::FinishClose() {
  // A clean close, or a peer that has stopped sending: nothing can turn into a reset.
  if (close_reason_.empty() || read_closed_) return Close(close_reason_);
  if (lingering_) return;
  lingering_ = true;
  shutdown(fd_, SHUT_WR);
  UpdateInterest();
  loop_.RunAfter(kLingerMs, [self = shared_from_this()] { self->Close(self->close_reason_); });
  Linger();
}

void Connection::Linger() {
  uint8_t buf[kReadChunk];
  for (;;) {
    const ssize_t n = read(fd_, buf, sizeof buf);
    if (n > 0) {
      lingered_bytes_ += static_cast<size_t>(n);
      if (lingered_bytes_ <= kLingerBytes) continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      return;
    }
    return Close(close_reason_);  // EOF, an error, or enough dropped
  }
}

void Connection::CloseWhenFlushed() {
  if (closed_) return;
  if (!close_after_flush_) close_reason_.clear();
  close_after_flush_ = true;
  if (output_.empty()) FinishClose();
  else UpdateInterest();
}

void Connection::HandleWrite() {
  while (!output_.empty() && !closed_) {
    iovec iov[kMaxIov];
    int cnt = 0;
    for (auto it = output_.begin(); it != output_.end() && cnt < kMaxIov - 1; ++it) {
      if (it->offset < it->header_len) {
        iov[cnt++] = {it->header + it->offset, it->header_len - it->offset};
        if (it->payload_len) iov[cnt++] = {it->payload, it->payload_len};
      } else {
        const size_t done = it->offset - it->header_len;
        iov[cnt++] = {it->payload + done, it->payload_len - done};
      }
    }
    const ssize_t n = writev(fd_, iov, cnt);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      return Close(std::string("write: ") + std::strerror(errno));
    }
    size_t left = static_cast<size_t>(n);
    if (n > 0) last_io_ms_ = NowMs();
    output_bytes_ -= left;
    while (left && !output_.empty()) {
      Segment& seg = output_.front();
      const size_t rest = seg.header_len + seg.payload_len - seg.offset;
      if (left < rest) {
        seg.offset += left;
        left = 0;
        break;
      }
      left -= rest;
      FreePayload(seg);
      output_.pop_front();
    }
  }
  if (above_high_ && output_bytes_ <= low_water_) {
    above_high_ = false;
    if (handlers_.on_low_water) handlers_.on_low_water(*this);
  }
  if (closed_) return;
  if (output_.empty() && close_after_flush_) return FinishClose();
  UpdateInterest();
}

void Connection::PauseReading(bool paused) {
  if (closed_ || read_paused_ == paused) return;
  read_paused_ = paused;
  UpdateInterest();
  if (paused || unparsed_.empty() || resume_posted_) return;
  // Frames left unparsed by the pause: parse them from the loop (not from inside the
  // caller, which may be iterating its own state), even if no new byte ever arrives.
  resume_posted_ = true;
  loop_.Post([self = shared_from_this()] {
    self->resume_posted_ = false;
    self->Cork();
    self->HandleRead();
    self->Uncork();
  });
}

void Connection::UpdateInterest() {
  if (closed_) return;
  const bool want_write = !output_.empty();
  uint32_t ev = lingering_ ? EPOLLIN | EPOLLRDHUP : 0;
  if (!read_paused_ && !read_closed_ && !close_after_flush_) ev |= EPOLLIN | EPOLLRDHUP;
  if (want_write) ev |= EPOLLOUT;
  want_write_ = want_write;
  if (ev == interest_) return;
  interest_ = ev;
  loop_.Modify(fd_, ev);
}

void Connection::Close(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  loop_.Remove(fd_);
  close(fd_);
  for (auto& seg : output_) FreePayload(seg);
  output_.clear();
  output_bytes_ = 0;
  std::vector<uint8_t>().swap(unparsed_);
  reader_.Discard();  // a linger timer may hold this connection for up to kLingerMs more
  auto keep = self_;
  self_.reset();
  if (handlers_.on_close) handlers_.on_close(*this, reason);
}

}  // namespace leaklab

// Socket helpers. Every listening socket binds 127.0.0.1, on a port the OS picks unless told.
#pragma once

#include <cstdint>
#include <string>

namespace leaklab {

// Returns a non-blocking listening socket on 127.0.0.1:*port (0: a port the OS picks) and
// sets *port to the port bound; exits the process with a message on failure (a setup
// error is fatal). A fixed port is for runs as a lab target, where the harness picks it.
int ListenLoopback(uint16_t* port);
// Non-blocking connect to 127.0.0.1:port; blocks until connected. Returns -1 with
// *error set on failure.
int ConnectLoopback(uint16_t port, std::string* error);
void SetNonBlocking(int fd);
void SetNoDelay(int fd);
// Makes the process exit when its parent dies (PR_SET_PDEATHSIG plus a check that the
// parent is still the one that started us), so a killed harness leaves nothing behind.
void DieWithParent();

}  // namespace leaklab

#include "unmix/stop_signal.h"

#include <csignal>

namespace unmix {

namespace {
std::atomic<bool> g_stop_requested{false};

void on_signal(int) {
  g_stop_requested = true;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the program at once
  std::signal(SIGTERM, SIG_DFL);
}
}  // namespace

std::atomic<bool>& stop_flag() { return g_stop_requested; }

void stop_on_signals() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

}  // namespace unmix

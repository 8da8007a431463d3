#pragma once
// Clean interruption for long-running commands: the first SIGINT/SIGTERM sets a flag that the work loop
// polls (finish the current step, write what is complete, exit); a second one ends the program at once.
#include <atomic>

namespace unmix {

std::atomic<bool>& stop_flag();
void stop_on_signals();  // installs the handlers that set stop_flag()

}  // namespace unmix

#pragma once
// Durations in progress lines and reports: "0m42s", "12m05s", "3h07m", "2d04h"; "?" while unknown
// (negative or not finite), so an ETA that cannot be estimated yet reads as such.
#include <string>

namespace unmix {

std::string clock_text(double seconds);

}  // namespace unmix

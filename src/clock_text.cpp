#include "unmix/clock_text.h"

#include <cmath>
#include <cstdio>

namespace unmix {

std::string clock_text(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "?";
  const auto s = static_cast<long long>(std::llround(seconds));
  char buffer[48];
  if (s >= 86400) std::snprintf(buffer, sizeof buffer, "%lldd%02lldh", s / 86400, s / 3600 % 24);
  else if (s >= 3600) std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", s / 3600, s / 60 % 60);
  else std::snprintf(buffer, sizeof buffer, "%lldm%02llds", s / 60, s % 60);
  return buffer;
}

}  // namespace unmix

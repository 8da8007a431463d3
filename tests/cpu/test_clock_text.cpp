// Durations as progress lines print them.
#include <gtest/gtest.h>

#include <cmath>

#include "unmix/clock_text.h"

using unmix::clock_text;

TEST(ClockText, MinutesHoursDaysAndUnknown) {
  EXPECT_EQ(clock_text(0), "0m00s");
  EXPECT_EQ(clock_text(42.4), "0m42s");
  EXPECT_EQ(clock_text(59.6), "1m00s");
  EXPECT_EQ(clock_text(725), "12m05s");
  EXPECT_EQ(clock_text(3 * 3600 + 7 * 60 + 20), "3h07m");
  EXPECT_EQ(clock_text(2 * 86400 + 4 * 3600 + 59), "2d04h");
  EXPECT_EQ(clock_text(-1), "?");
  EXPECT_EQ(clock_text(NAN), "?");
  EXPECT_EQ(clock_text(INFINITY), "?");
}

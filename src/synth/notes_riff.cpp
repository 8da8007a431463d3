// The song's riff, shared by the guitars that play it and a bass that doubles it: a bar of palm-muted
// chugs on the root, power-chord accents and a few blues-scale notes, on a sixteenth grid.
#include <string>

#include "unmix/synth/note_writer.h"

namespace unmix::synth {

namespace {

// x chug, O accent (ringing power chord), n single note, . rest; one bar of sixteenths.
const std::vector<std::string> kRiffs44 = {
    "x.xxx.xxx.xxx.xx",  // gallop
    "xxxxxxxxxxxxxxxx",  // straight sixteenths
    "O..x.xO..x.xO.x.",  // accents over chugs
    "x.x.O...x.x.n.n.",
    "xx.xxx.xO...O...",
    "x..x..x.x..x..x.",  // syncopated
    "O.......x.x.x.x.",
    "x.xnx.xnx.xnO...",
    "xxx.xxx.O.O.n.O.",
};
const std::vector<std::string> kRiffs34 = {"x.xxx.xxx.xx", "O..x.xO..x.x", "xxxxxxO...n.", "x.x.O...n.n."};
// Minor pentatonic with the blue note, above the root.
constexpr int kBluesTones[] = {3, 5, 6, 7, 10, 12};
constexpr std::uint64_t kRiffTag = 0x4177;

}  // namespace

std::vector<RiffStep> song_riff(const SongPlan& plan) {
  Rng rng = Rng::derive(plan.riff_seed, {kRiffTag});
  std::string rhythm = rng.pick(plan.beats_per_bar == 3 ? kRiffs34 : kRiffs44);
  // A little of the riff's own: a chug now and then becomes a rest or an accent, never on the downbeat.
  for (std::size_t i = 1; i < rhythm.size(); ++i) {
    if (rhythm[i] == 'x' && rng.chance(0.1)) rhythm[i] = '.';
    else if (rhythm[i] == 'x' && rng.chance(0.05)) rhythm[i] = 'n';
  }
  std::vector<RiffStep> steps;
  for (int slot = 0; slot < static_cast<int>(rhythm.size()); ++slot) {
    const char c = rhythm[static_cast<std::size_t>(slot)];
    if (c == '.') continue;
    RiffStep step;
    step.slot = slot;
    step.kind = c;
    if (c == 'n') step.interval = rng.pick(std::span<const int>(kBluesTones));
    steps.push_back(step);
  }
  for (std::size_t i = 0; i < steps.size(); ++i)
    steps[i].length = (i + 1 < steps.size() ? steps[i + 1].slot : static_cast<int>(rhythm.size())) - steps[i].slot;
  return steps;
}

}  // namespace unmix::synth

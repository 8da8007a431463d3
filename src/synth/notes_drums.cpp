// Drum grooves on the GM percussion channel: kick, snare, hi-hats, ride, crashes at section starts and
// fills into the next section.
#include <algorithm>
#include <cmath>

#include "unmix/synth/note_writer.h"

namespace unmix::synth {

namespace {

// GM percussion keys.
constexpr int kKick = 36, kSideStick = 37, kSnare = 38, kClap = 39, kClosedHat = 42, kPedalHat = 44,
              kOpenHat = 46, kCrash = 49, kRide = 51, kChina = 52, kRideBell = 53, kCrash2 = 57;
constexpr int kToms[] = {50, 48, 47, 45, 43, 41};  // high to low

struct Hit {
  double beat;
  int key;
  double level;  // 0..1 of full velocity
};

std::vector<Hit> groove(Pattern pattern, int beats_per_bar, double intensity, bool busy_hats, bool ride) {
  std::vector<Hit> hits;
  const int cymbal = ride ? kRide : kClosedHat;
  auto eighths = [&](int key, double on, double off) {
    for (int i = 0; i < 2 * beats_per_bar; ++i) hits.push_back({0.5 * i, key, i % 2 ? off : on});
  };
  switch (pattern) {
    case Pattern::DrumsRock:
      eighths(cymbal, 0.8, 0.6);
      hits.insert(hits.end(), {{0, kKick, 1}, {2, kKick, 0.95}, {1, kSnare, 1}, {3, kSnare, 1}});
      if (intensity > 0.7) hits.push_back({2.5, kKick, 0.8});
      break;
    case Pattern::DrumsPop:
      if (busy_hats)
        for (int i = 0; i < 4 * beats_per_bar; ++i) hits.push_back({0.25 * i, kClosedHat, i % 4 == 0 ? 0.8 : i % 2 ? 0.45 : 0.6});
      else
        eighths(kClosedHat, 0.8, 0.55);
      hits.insert(hits.end(), {{0, kKick, 1}, {1.5, kKick, 0.8}, {2, kKick, 0.9}, {1, kSnare, 1}, {3, kSnare, 1}});
      break;
    case Pattern::DrumsFourOnTheFloor:
      for (int b = 0; b < beats_per_bar; ++b) {
        hits.push_back({static_cast<double>(b), kKick, 1});
        hits.push_back({b + 0.5, kOpenHat, 0.7});
      }
      hits.insert(hits.end(), {{1, kClap, 0.9}, {3, kClap, 0.9}});
      if (busy_hats)
        for (int b = 0; b < beats_per_bar; ++b) hits.insert(hits.end(), {{b + 0.25, kClosedHat, 0.4}, {b + 0.75, kClosedHat, 0.4}});
      break;
    case Pattern::DrumsHalfTime:
      eighths(cymbal, 0.75, 0.55);
      hits.insert(hits.end(), {{0, kKick, 1}, {1.5, kKick, 0.7}, {2, kSnare, 1}});
      break;
    case Pattern::DrumsSwing:
      // Ride "ding, ding-a ding, ding-a" (swing moves the "a" late), hi-hat foot on 2 and 4, feathered kick.
      for (int b = 0; b < beats_per_bar; ++b) {
        hits.push_back({static_cast<double>(b), kRide, b % 2 ? 0.85 : 0.7});
        if (b % 2) hits.push_back({b + 0.5, kRide, 0.55});
        if (b % 2) hits.push_back({static_cast<double>(b), kPedalHat, 0.7});
        hits.push_back({static_cast<double>(b), kKick, 0.3});
      }
      break;
    case Pattern::DrumsBallad:
      eighths(kClosedHat, 0.6, 0.4);
      hits.insert(hits.end(), {{0, kKick, 0.9}, {2, kKick, 0.8}, {1, kSideStick, 0.85}, {3, kSideStick, 0.85}});
      break;
    case Pattern::DrumsWaltz:
      eighths(cymbal, 0.7, 0.5);
      hits.insert(hits.end(), {{0, kKick, 1}, {1, kSnare, 0.75}, {2, kSnare, 0.75}});
      break;
    case Pattern::DrumsHardRock: {
      // A wash of eighths on a crash or the open ride, kicks pushed ahead of beat 3.
      const int wash = ride ? kRide : kCrash2;
      eighths(wash, 0.75, 0.6);
      hits.insert(hits.end(), {{0, kKick, 1}, {1.75, kKick, 0.75}, {2, kKick, 0.9}, {2.5, kKick, 0.8}, {1, kSnare, 1},
                               {3, kSnare, 1}});
      if (intensity > 0.75) hits.insert(hits.end(), {{3.5, kKick, 0.7}, {3.75, kKick, 0.7}});
      break;
    }
    case Pattern::DrumsMetal:
      // Double kick in sixteenths (feet alternating, so alternating weight), snare on 2 and 4, crash and
      // china on the beats.
      for (int i = 0; i < 4 * beats_per_bar; ++i) hits.push_back({0.25 * i, kKick, i % 2 ? 0.78 : 0.9});
      for (int b = 0; b < beats_per_bar; ++b) hits.push_back({static_cast<double>(b), b % 2 ? kChina : kCrash, 0.7});
      hits.insert(hits.end(), {{1, kSnare, 1}, {3, kSnare, 1}});
      break;
    case Pattern::DrumsTimeKeeping:
      for (int b = 0; b < beats_per_bar; ++b) hits.push_back({static_cast<double>(b), ride ? kRide : kClosedHat, 0.6});
      break;
    default: break;
  }
  // Grooves written for four beats lose the hits past the bar in 3/4.
  hits.erase(std::remove_if(hits.begin(), hits.end(), [&](const Hit& h) { return h.beat >= beats_per_bar; }),
             hits.end());
  return hits;
}

// The last `beats` of a section: snare and tom sixteenths stepping down the kit.
std::vector<Hit> fill(Rng& rng, double beats) {
  std::vector<Hit> hits;
  const int steps = static_cast<int>(beats * 4);
  const bool toms = rng.chance(0.7);
  for (int i = 0; i < steps; ++i) {
    if (i % 4 == 3 && rng.chance(0.3)) continue;
    const int key = toms ? kToms[std::min<std::size_t>(static_cast<std::size_t>(i * 6 / std::max(1, steps)), 5)] : kSnare;
    hits.push_back({0.25 * i, key, 0.65 + 0.3 * i / std::max(1, steps)});
  }
  return hits;
}

}  // namespace

void drum_notes(const SongPlan& plan, const Part& part, NoteWriter& out) {
  Rng& rng = out.rng();
  const bool busy_hats = rng.chance(0.5);
  const bool ride_in_chorus = rng.chance(0.5);
  const double fill_beats = rng.chance(0.5) ? 1.0 : 2.0;
  const int bpb = plan.beats_per_bar;
  for (std::size_t s = 0; s < plan.sections.size(); ++s) {
    const Pattern pattern = part.pattern_by_section[s];
    if (pattern == Pattern::Tacet) continue;
    const Section& section = plan.sections[s];
    const BeatRange range = section_beats(plan, s);
    const bool ride = pattern == Pattern::DrumsSwing || (section.kind == SectionKind::Chorus && ride_in_chorus);
    const std::vector<Hit> bar = groove(pattern, bpb, section.intensity, busy_hats, ride);
    const bool last_section = s + 1 == plan.sections.size();
    const bool fills = !last_section && pattern != Pattern::DrumsTimeKeeping;
    const double fill_start = range.end - std::min(fill_beats, static_cast<double>(bpb));
    for (double start = range.begin; start < range.end - 1e-9; start += bpb) {
      for (const Hit& hit : bar) {
        const double beat = start + hit.beat;
        if (beat >= range.end - 1e-9 || (fills && beat >= fill_start - 1e-9 && hit.key != kKick)) continue;
        out.add(beat, 0.25, hit.key, velocity(112 * hit.level, section.intensity, rng, 5.0));
      }
    }
    if (fills)
      for (const Hit& hit : fill(rng, range.end - fill_start))
        out.add(fill_start + hit.beat, 0.25, hit.key, velocity(110 * hit.level, section.intensity, rng, 5.0));
    // Crash (with a kick) to mark a new section after the first; bells in a jazz chorus.
    if (s > 0 && pattern != Pattern::DrumsTimeKeeping && section.kind != SectionKind::Verse) {
      out.add(range.begin, 1.0, pattern == Pattern::DrumsSwing ? kRideBell : kCrash, velocity(105, section.intensity, rng));
      out.add(range.begin, 0.25, kKick, velocity(110, section.intensity, rng));
    }
  }
}

}  // namespace unmix::synth
